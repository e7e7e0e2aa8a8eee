package peertest

import (
	"os"
	"testing"
	"time"
)

// Require skips the test when the real peers cannot run here (or under
// -short), and fails it when CI=true: CI must run every integration test.
func Require(t testing.TB) {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	if testing.Short() && !ci {
		t.Skip("integration test; -short")
	}
	if err := Available(); err != nil {
		if ci {
			t.Fatalf("CI=true and the real peers are missing: %v", err)
		}
		t.Skip(err)
	}
}

// WaitFor polls cond every 200 ms until it holds, and fails the test if it
// does not within timeout, with cond's last explanation.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %s", what, timeout, why)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// SortRoutes orders routes as Received does: by prefix, IPv4 first, with
// communities in numeric order.
func SortRoutes(routes []Route) { sortRoutes(routes) }
