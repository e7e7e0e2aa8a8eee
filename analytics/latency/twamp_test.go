package latency

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNTPTimestamp(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    time.Time
		ntp  uint64
	}{
		{name: "unix epoch", t: time.Unix(0, 0), ntp: 2208988800 << 32},
		{name: "half second", t: time.Unix(0, 500_000_000), ntp: 2208988800<<32 | 1<<31},
		{name: "2024", t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), ntp: 3913056000 << 32},
		{name: "era 1", t: time.Date(2036, 2, 7, 6, 28, 17, 0, time.UTC), ntp: 1 << 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NTPTimestamp(tc.t); got != tc.ntp {
				t.Errorf("NTPTimestamp(%s) = %#x, want %#x", tc.t, got, tc.ntp)
			}
			if got := FromNTPTimestamp(tc.ntp); !got.Equal(tc.t) {
				t.Errorf("FromNTPTimestamp(%#x) = %s, want %s", tc.ntp, got, tc.t)
			}
		})
	}
	// Nanoseconds survive the round trip.
	now := time.Now()
	if got := FromNTPTimestamp(NTPTimestamp(now)); !got.Equal(now.Round(0)) {
		t.Errorf("round trip of %s gave %s", now, got)
	}
}

func TestTWAMPPackets(t *testing.T) {
	t1 := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	b := AppendTWAMPSender(nil, TWAMPSender{Seq: 0x01020304, Timestamp: t1, Estimate: unsyncedEstimate}, 41)
	// RFC 5357 §4.1.2: sequence, NTP timestamp, error estimate, padding.
	want := "01020304" + "eb6d7540" + "1f9add38" + "0001" + string(bytes.Repeat([]byte("00"), 27))
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("sender packet\n got %s\nwant %s", got, want)
	}
	s, err := ParseTWAMPSender(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, TWAMPSender{Seq: 0x01020304, Timestamp: t1, Estimate: 1}); diff != "" {
		t.Errorf("parsed sender packet (-got +want):\n%s", diff)
	}

	r := TWAMPReflected{
		Seq: 7, Timestamp: t1.Add(3 * time.Millisecond), Estimate: 0x8001, Receive: t1.Add(time.Millisecond),
		SenderSeq: 0x01020304, SenderTime: t1, SenderEstimate: 1, SenderTTL: 254,
	}
	rb := AppendTWAMPReflected(nil, r, 0)
	if len(rb) != TWAMPReflectedSize {
		t.Fatalf("reflected packet of %d bytes, want %d", len(rb), TWAMPReflectedSize)
	}
	if rb[14] != 0 || rb[15] != 0 || rb[38] != 0 || rb[39] != 0 {
		t.Errorf("MBZ fields not zero: % x", rb)
	}
	got, err := ParseTWAMPReflected(rb)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, r); diff != "" {
		t.Errorf("parsed reflected packet (-got +want):\n%s", diff)
	}
	if _, err := ParseTWAMPReflected(rb[:40]); err == nil {
		t.Error("a 40-byte reflected packet parsed")
	}
	if _, err := ParseTWAMPSender(b[:13]); err == nil {
		t.Error("a 13-byte sender packet parsed")
	}
}

func FuzzParseTWAMPReflected(f *testing.F) {
	f.Add(AppendTWAMPReflected(nil, TWAMPReflected{Seq: 1, Timestamp: time.Now(), Receive: time.Now()}, 64))
	f.Add(make([]byte, 41))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseTWAMPReflected(b)
		if err != nil {
			return
		}
		again, err := ParseTWAMPReflected(AppendTWAMPReflected(nil, r, len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(again, r); diff != "" {
			t.Errorf("encode-parse changed the packet (-got +want):\n%s", diff)
		}
	})
}

func FuzzParseTWAMPSender(f *testing.F) {
	f.Add(AppendTWAMPSender(nil, TWAMPSender{Seq: 1, Timestamp: time.Now()}, 41))
	f.Add(make([]byte, 14))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseTWAMPSender(b)
		if err != nil {
			return
		}
		again, err := ParseTWAMPSender(AppendTWAMPSender(nil, s, len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(again, s); diff != "" {
			t.Errorf("encode-parse changed the packet (-got +want):\n%s", diff)
		}
	})
}
