//go:build linux

package latency

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// testNetns is a network namespace joined to this one by a veth pair:
// the host end has .1, the namespace end .2; .3 is on the link but
// nobody has it, so packets to it go nowhere (no ARP, no neighbour
// discovery answer).
type testNetns struct {
	name               string
	host4, peer4, nil4 netip.Addr
	host6, peer6, nil6 netip.Addr
}

var netnsCount atomic.Int32

// newNetns makes a namespace for the test, deleted at its end. It needs
// root: skipped locally without, failed under CI.
func newNetns(t *testing.T) *testNetns {
	t.Helper()
	needRoot(t, "a network namespace")
	n := netnsCount.Add(1)
	name := fmt.Sprintf("ixpdlat%d-%d", os.Getpid(), n)
	hostIf := fmt.Sprintf("ixl%d%da", os.Getpid()%100000, n)
	// 198.18.0.0/15 is for benchmarks (RFC 2544), 2001:2::/48 too
	// (RFC 5180): nothing outside the link uses them. The subnet differs
	// per process and namespace so that parallel runs do not collide.
	x := (os.Getpid()*7+int(n))%250 + 1
	ns := &testNetns{
		name:  name,
		host4: netip.MustParseAddr(fmt.Sprintf("198.19.%d.1", x)),
		peer4: netip.MustParseAddr(fmt.Sprintf("198.19.%d.2", x)),
		nil4:  netip.MustParseAddr(fmt.Sprintf("198.19.%d.3", x)),
		host6: netip.MustParseAddr(fmt.Sprintf("2001:2:0:%x::1", x)),
		peer6: netip.MustParseAddr(fmt.Sprintf("2001:2:0:%x::2", x)),
		nil6:  netip.MustParseAddr(fmt.Sprintf("2001:2:0:%x::3", x)),
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", name)
	t.Cleanup(func() {
		// Deleting the namespace deletes its veth end, and so the pair.
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	run("link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", name)
	run("addr", "add", ns.host4.String()+"/24", "dev", hostIf)
	run("addr", "add", ns.host6.String()+"/64", "dev", hostIf, "nodad")
	run("link", "set", hostIf, "up")
	run("-n", name, "addr", "add", ns.peer4.String()+"/24", "dev", "eth0")
	run("-n", name, "addr", "add", ns.peer6.String()+"/64", "dev", "eth0", "nodad")
	run("-n", name, "link", "set", "eth0", "up")
	run("-n", name, "link", "set", "lo", "up")
	return ns
}

// in runs fn on a thread inside the namespace: sockets it opens belong
// to the namespace for good.
func (ns *testNetns) in(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Unlocked only once back home: a thread left in the namespace
		// ends with its goroutine.
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			done <- err
			return
		}
		defer func() { _ = orig.Close() }()
		target, err := os.Open("/run/netns/" + ns.name)
		if err != nil {
			done <- err
			return
		}
		defer func() { _ = target.Close() }()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("setns %s: %w", ns.name, err)
			return
		}
		fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("setns back: %w", err)
			return
		}
		runtime.UnlockOSThread()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// sysctl sets a sysctl inside the namespace.
func (ns *testNetns) sysctl(t *testing.T, key, value string) {
	t.Helper()
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	cmd := exec.Command("ip", "netns", "exec", ns.name, "sh", "-c", fmt.Sprintf("echo '%s' > %s", value, path))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sysctl %s in %s: %v: %s", key, ns.name, err, out)
	}
}
