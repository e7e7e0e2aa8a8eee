package latency

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// parseFile reads a configuration file's "latency" part over the
// defaults, as cmd/ixpd does (unknown keys are errors), and validates it.
func parseFile(data []byte) (Configuration, error) {
	var file struct {
		Latency Configuration `yaml:"latency"`
	}
	file.Latency = DefaultConfiguration()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		return Configuration{}, err
	}
	return file.Latency, file.Latency.Validate()
}

func TestConfigurationExample(t *testing.T) {
	got, err := parseFile([]byte(`
latency:
  interval: 1s
  targets:
    - {name: apia-ixp, address: "127.0.0.21:8620", method: twamp, group: apia, path: ixp}
    - {name: apia-transit, address: "127.0.0.22:8620", method: twamp, group: apia, path: transit}
`))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	want := DefaultConfiguration()
	want.Targets = []TargetConfiguration{
		{Name: "apia-ixp", Address: "127.0.0.21:8620", Method: MethodTWAMP, Group: "apia", Path: PathIXP},
		{Name: "apia-transit", Address: "127.0.0.22:8620", Method: MethodTWAMP, Group: "apia", Path: PathTransit},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("configuration (-got +want):\n%s", diff)
	}
	if !got.Enabled() {
		t.Error("Enabled() is false with targets")
	}
}

func TestConfigurationFull(t *testing.T) {
	got, err := parseFile([]byte(`
latency:
  interval: 500ms
  timeout: 2s
  members: true
  member_method: tcp
  member_port: 179
  tcp_workers: 8
  queue_bins: 100
  recent_bins: 24
  targets:
    - {name: v6, address: "2001:db8::1", method: icmp, interval: 5s}
    - {name: t, address: "[2001:db8::2]:443", method: tcp}
`))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	want := Configuration{
		Interval: 500 * time.Millisecond, Timeout: 2 * time.Second, Members: true, MemberMethod: MethodTCP,
		MemberPort: 179, TCPWorkers: 8, QueueBins: 100, RecentBins: 24,
		Targets: []TargetConfiguration{
			{Name: "v6", Address: "2001:db8::1", Method: MethodICMP, Interval: 5 * time.Second},
			{Name: "t", Address: "[2001:db8::2]:443", Method: MethodTCP},
		},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("configuration (-got +want):\n%s", diff)
	}
}

func TestDefaultConfiguration(t *testing.T) {
	c := DefaultConfiguration()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if c.Enabled() {
		t.Error("a fresh install probes something")
	}
	got, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(got), string(want)); diff != "" {
		t.Errorf("defaults (-got +want testdata/default.yaml):\n%s", diff)
	}
}

// TestConfigurationBad checks each testdata/bad/NAME.yaml against the
// exact error in NAME.err.
func TestConfigurationBad(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configurations: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".err")
			if err != nil {
				t.Fatal(err)
			}
			_, err = parseFile(data)
			if err == nil {
				t.Fatalf("accepted; want %q", want)
			}
			if diff := cmp.Diff(err.Error(), strings.TrimSuffix(string(want), "\n")); diff != "" {
				t.Errorf("error (-got +want):\n%s", diff)
			}
		})
	}
}

func FuzzParseConfiguration(f *testing.F) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, file := range files {
		data, _ := os.ReadFile(file)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseFile(data)
		if err != nil {
			return
		}
		// A valid configuration builds a prober.
		if _, err := New(discardLogger(), newRegistry(), c, Dependencies{}); err != nil {
			t.Fatalf("valid configuration, New: %v", err)
		}
	})
}
