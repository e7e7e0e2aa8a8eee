package deploy

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// requireIntegration skips the test when what it needs is missing, except
// in CI (CI=true), where it fails.
func requireIntegration(t *testing.T, root bool, tools ...string) {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	var missing []string
	if testing.Short() && !ci {
		t.Skip("integration test; -short")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if root && os.Geteuid() != 0 {
		missing = append(missing, "root (dpkg must own the files it unpacks)")
	}
	if len(missing) == 0 {
		return
	}
	if ci {
		t.Fatalf("CI=true and missing: %s", strings.Join(missing, ", "))
	}
	t.Skipf("missing: %s", strings.Join(missing, ", "))
}

// run runs a command and returns its standard output; it fails the test
// with both outputs when the command fails.
func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// testRoot is an empty system root that dpkg installs into: only dpkg's own
// database, and what the package's maintainer scripts create there.
type testRoot struct {
	t   *testing.T
	dir string
}

func newTestRoot(t *testing.T) *testRoot {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root")
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "var/log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"var/lib/dpkg/status", "var/lib/dpkg/available"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &testRoot{t: t, dir: dir}
}

// dpkg runs dpkg on the test root. The maintainer scripts run on the host
// (--force-script-chrootless) with $DPKG_ROOT set to the root; the root
// has none of the package's dependencies (--force-depends); the log goes
// into the root, not the host's /var/log/dpkg.log.
func (r *testRoot) dpkg(args ...string) {
	r.t.Helper()
	base := []string{"--root=" + r.dir, "--log=" + r.path("/var/log/dpkg.log"), "--force-script-chrootless", "--force-depends"}
	run(r.t, "", "dpkg", append(base, args...)...)
}

// path is p inside the root.
func (r *testRoot) path(p string) string { return filepath.Join(r.dir, p) }

// read returns a file's content inside the root.
func (r *testRoot) read(p string) string {
	r.t.Helper()
	b, err := os.ReadFile(r.path(p))
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

// write replaces a file's content inside the root, as an administrator.
func (r *testRoot) write(p, content string) {
	r.t.Helper()
	if err := os.WriteFile(r.path(p), []byte(content), 0o640); err != nil {
		r.t.Fatal(err)
	}
}

// status is dpkg's Status and Version of ixpd, or "" when dpkg knows nothing
// of it.
func (r *testRoot) status() string {
	r.t.Helper()
	out, err := exec.Command("dpkg-query", "--admindir="+r.path("/var/lib/dpkg"), "-W", "-f=${Status} ${Version}", "ixpd").Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return ""
	} else if err != nil {
		r.t.Fatal(err)
	}
	return string(out)
}

// fileState is a file's type, mode and owner as the test checks them.
type fileState struct {
	Mode     fs.FileMode
	UID, GID int
}

// stat returns the state of p inside the root; a missing file is the zero
// state.
func (r *testRoot) stat(p string) fileState {
	r.t.Helper()
	fi, err := os.Lstat(r.path(p))
	if errors.Is(err, fs.ErrNotExist) {
		return fileState{}
	} else if err != nil {
		r.t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fileState{Mode: fi.Mode(), UID: int(st.Uid), GID: int(st.Gid)}
}

// account returns an /etc/passwd or /etc/group line of the root by name,
// split at the colons.
func (r *testRoot) account(file, name string) []string {
	r.t.Helper()
	data, err := os.ReadFile(r.path("/etc/" + file))
	if err != nil {
		r.t.Fatalf("no /etc/%s in the test root: %v", file, err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if f := strings.Split(line, ":"); f[0] == name {
			return f
		}
	}
	r.t.Fatalf("no %s in the root's /etc/%s:\n%s", name, file, data)
	return nil
}

// The Debian package as an administrator lives with it, in an empty test
// root: `make package` builds it; dpkg installs it (binaries, conffiles, the
// unit, the user from sysusers.d, /var/lib/ixpd from tmpfiles.d, the unit
// enabled) without touching the host; systemd-analyze verifies the
// installed unit; an upgrade to a package whose ixpd.yaml changed keeps the
// administrator's edits; removal keeps the conffiles and the data; purge
// deletes both.
func TestDebianPackage(t *testing.T) {
	requireIntegration(t, true, "make", "go", "dpkg", "dpkg-deb", "dpkg-query", "systemd-analyze", "systemd-sysusers", "systemd-tmpfiles")
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()

	// Version 1.0.0 as it is; 1.0.1 with an ixpd.yaml that differs from it.
	run(t, repo, "make", "package", "VERSION=v1.0.0", "DIST="+filepath.Join(work, "v1"))
	deb1 := filepath.Join(work, "v1", "ixpd_1.0.0_amd64.deb")
	etc2 := filepath.Join(work, "etc2")
	if err := os.MkdirAll(etc2, 0o755); err != nil {
		t.Fatal(err)
	}
	shipped2 := readFile(t, filepath.Join(repo, "deploy/debian/ixpd.yaml")) + "# changed in 1.0.1\n"
	writeFile(t, filepath.Join(etc2, "ixpd.yaml"), shipped2)
	writeFile(t, filepath.Join(etc2, "members.json"), readFile(t, filepath.Join(repo, "deploy/debian/members.json")))
	run(t, repo, "make", "package", "VERSION=v1.0.1", "DIST="+filepath.Join(work, "v2"), "PKG_ETC="+etc2)
	deb2 := filepath.Join(work, "v2", "ixpd_1.0.1_amd64.deb")

	fields := run(t, "", "dpkg-deb", "--showformat=${Package} ${Version} ${Architecture}|${Depends}", "--show", deb1)
	if want := "ixpd 1.0.0 amd64|libc6 (>= 2.34), libgcc-s1 (>= 3.0), libstdc++6 (>= 12)"; fields != want {
		t.Errorf("control fields %q, want %q", fields, want)
	}
	if got, want := run(t, "", "dpkg-deb", "--info", deb1, "conffiles"), "/etc/ixpd/ixpd.yaml\n/etc/ixpd/members.json\n"; got != want {
		t.Errorf("conffiles %q, want %q", got, want)
	}

	_, hostStateErr := os.Stat("/var/lib/ixpd")
	_, hostUserErr := exec.Command("getent", "passwd", "ixpd").Output()

	r := newTestRoot(t)
	r.dpkg("--install", deb1)
	if st := r.status(); st != "install ok installed 1.0.0" {
		t.Fatalf("after install: status %q", st)
	}
	user := r.account("passwd", "ixpd")
	group := r.account("group", "ixpd")
	if user[5] != "/var/lib/ixpd" || user[6] != "/usr/sbin/nologin" || user[3] != group[2] {
		t.Errorf("user ixpd %q, group %q", user, group)
	}
	uid, _ := strconv.Atoi(user[2])
	gid, _ := strconv.Atoi(group[2])
	if uid == 0 || uid >= 1000 {
		t.Errorf("ixpd has uid %d, want a system user's", uid)
	}
	files := map[string]fileState{
		"/usr/bin/ixpd":                                            {Mode: 0o755},
		"/usr/bin/ixpsim":                                          {Mode: 0o755},
		"/etc/ixpd/ixpd.yaml":                                      {Mode: 0o640, GID: gid},
		"/etc/ixpd/members.json":                                   {Mode: 0o644},
		"/usr/lib/systemd/system/ixpd.service":                     {Mode: 0o644},
		"/usr/lib/sysusers.d/ixpd.conf":                            {Mode: 0o644},
		"/usr/lib/tmpfiles.d/ixpd.conf":                            {Mode: 0o644},
		"/usr/share/doc/ixpd/copyright":                            {Mode: 0o644},
		"/var/lib/ixpd":                                            {Mode: fs.ModeDir | 0o750, UID: uid, GID: gid},
		"/etc/systemd/system/multi-user.target.wants/ixpd.service": {Mode: fs.ModeSymlink | 0o777},
	}
	for p, want := range files {
		if got := r.stat(p); got != want {
			t.Errorf("%s: %+v, want %+v", p, got, want)
		}
	}
	if l, err := os.Readlink(r.path("/etc/systemd/system/multi-user.target.wants/ixpd.service")); err != nil || l != "/usr/lib/systemd/system/ixpd.service" {
		t.Errorf("enabled unit links to %q (%v)", l, err)
	}
	if got := run(t, "", r.path("/usr/bin/ixpd"), "version"); got != "ixpd v1.0.0\n" {
		t.Errorf("ixpd version: %q", got)
	}
	if got := run(t, "", r.path("/usr/bin/ixpd"), "check", "-config", r.path("/etc/ixpd/ixpd.yaml")); !strings.HasSuffix(got, "ok (0 members, 0 route-server sessions)\n") {
		t.Errorf("ixpd check on the installed config: %q", got)
	}
	// The host is not touched: no state directory, no user.
	if _, err := os.Stat("/var/lib/ixpd"); hostStateErr != nil && err == nil {
		t.Error("installing into the test root created the host's /var/lib/ixpd")
	}
	if _, err := exec.Command("getent", "passwd", "ixpd").Output(); hostUserErr != nil && err == nil {
		t.Error("installing into the test root created the host's user ixpd")
	}

	verifyUnit(t, r)

	// The administrator edits both conffiles and ixpd writes its data.
	edited := r.read("/etc/ixpd/ixpd.yaml") + "# edited by the administrator\n"
	r.write("/etc/ixpd/ixpd.yaml", edited)
	members := strings.Replace(r.read("/etc/ixpd/members.json"), "EXAMPLE-IX", "ADMIN-IX", 1)
	r.write("/etc/ixpd/members.json", members)
	r.write("/var/lib/ixpd/ixpd.duckdb", "data")

	// Upgrade: ixpd.yaml changed in the package and was edited here, so
	// dpkg would ask; --force-confold answers "keep mine", and the new file
	// waits beside it as .dpkg-dist. members.json did not change in the
	// package: dpkg keeps the edit without asking.
	r.dpkg("--force-confold", "--install", deb2)
	if st := r.status(); st != "install ok installed 1.0.1" {
		t.Fatalf("after upgrade: status %q", st)
	}
	if got := run(t, "", r.path("/usr/bin/ixpd"), "version"); got != "ixpd v1.0.1\n" {
		t.Errorf("ixpd version after the upgrade: %q", got)
	}
	if diff := cmp.Diff(r.read("/etc/ixpd/ixpd.yaml"), edited); diff != "" {
		t.Errorf("ixpd.yaml after the upgrade (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(r.read("/etc/ixpd/ixpd.yaml.dpkg-dist"), shipped2); diff != "" {
		t.Errorf("ixpd.yaml.dpkg-dist (-got +want):\n%s", diff)
	}
	if r.read("/etc/ixpd/members.json") != members || r.stat("/etc/ixpd/members.json.dpkg-dist") != (fileState{}) {
		t.Error("members.json: the administrator's edit was not kept as it was")
	}
	if got := r.stat("/etc/ixpd/ixpd.yaml"); got.Mode != 0o640 || got.GID != gid {
		t.Errorf("ixpd.yaml after the upgrade: %+v", got)
	}
	if r.read("/var/lib/ixpd/ixpd.duckdb") != "data" {
		t.Error("the upgrade lost /var/lib/ixpd")
	}

	// Removal: the program and the unit go, the conffiles and data stay.
	r.dpkg("--remove", "ixpd")
	if st := r.status(); st != "deinstall ok config-files 1.0.1" {
		t.Errorf("after remove: status %q", st)
	}
	for _, p := range []string{"/usr/bin/ixpd", "/usr/bin/ixpsim", "/usr/lib/systemd/system/ixpd.service", "/etc/systemd/system/multi-user.target.wants/ixpd.service"} {
		if r.stat(p) != (fileState{}) {
			t.Errorf("%s is still there after dpkg --remove", p)
		}
	}
	if r.read("/etc/ixpd/ixpd.yaml") != edited || r.read("/etc/ixpd/members.json") != members || r.read("/var/lib/ixpd/ixpd.duckdb") != "data" {
		t.Error("dpkg --remove did not keep the conffiles and /var/lib/ixpd")
	}

	// Purge: the conffiles and the data go; the user stays (Debian's rule
	// for system users: files elsewhere may still be its).
	r.dpkg("--purge", "ixpd")
	if st := r.status(); st != "" {
		t.Errorf("after purge: status %q", st)
	}
	for _, p := range []string{"/etc/ixpd", "/var/lib/ixpd"} {
		if r.stat(p) != (fileState{}) {
			t.Errorf("%s is still there after dpkg --purge", p)
		}
	}
	r.account("passwd", "ixpd")
}

// verifyUnit runs systemd-analyze verify on the installed unit. verify
// checks that ExecStart's program exists on this host, so it reads a copy
// whose ExecStart is the test root's ixpd. (`verify --root` would look for
// the whole of systemd, sysinit.target and /bin/kill in the root.) Any
// output, such as an unknown key, which verify only warns about, fails.
// systemd-analyze security must rate the sandbox at most 2.0 ("OK").
func verifyUnit(t *testing.T, r *testRoot) {
	t.Helper()
	unit := r.read("/usr/lib/systemd/system/ixpd.service")
	if !strings.Contains(unit, "\nExecStart=/usr/bin/ixpd run -config /etc/ixpd/ixpd.yaml\n") {
		t.Fatalf("ExecStart is not /usr/bin/ixpd run -config /etc/ixpd/ixpd.yaml:\n%s", unit)
	}
	path := filepath.Join(t.TempDir(), "ixpd.service")
	writeFile(t, path, strings.Replace(unit, "\nExecStart=/usr/bin/ixpd ", "\nExecStart="+r.path("/usr/bin/ixpd")+" ", 1))
	cmd := exec.Command("systemd-analyze", "verify", path)
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command("systemd-analyze", "security", "--offline=true", path).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for ixpd\.service: (\d+\.\d+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2.0 {
		t.Errorf("systemd-analyze security: exposure %.1f, want at most 2.0\n%s", level, out)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
