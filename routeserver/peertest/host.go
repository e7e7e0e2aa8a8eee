package peertest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
)

// binaries are the programs the package runs.
var binaries = []string{"bird", "birdc", "bgpd", "bgpctl"}

// Available returns nil when BIRD (bird, birdc) and OpenBGPD (bgpd, bgpctl, its _openbgpd user) are installed
// and the process runs as root (bgpd chroots and drops privileges; IPv6 addresses are added to lo), and
// otherwise an error saying what is missing. Tests skip on it locally and fail on it in CI.
func Available() error {
	var errs []error
	for _, b := range binaries {
		if _, err := lookPath(b); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := user.Lookup(openbgpdUser); err != nil {
		errs = append(errs, fmt.Errorf("openbgpd user: %w", err))
	}
	if os.Geteuid() != 0 {
		errs = append(errs, fmt.Errorf("not running as root (euid %d)", os.Geteuid()))
	}
	if len(errs) > 0 {
		return fmt.Errorf("bgp daemons unavailable (install the Debian packages bird2 and openbgpd, run as root): %w",
			errors.Join(errs...))
	}
	return nil
}

// lookPath finds a program in PATH or in the sbin directories, which a non-login PATH may lack.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, exec.ErrNotFound)
}

// Port range FreePort picks from: below Linux's default ephemeral range (32768-60999), so that the outgoing
// connections of the daemons and the tests never take a chosen port.
const (
	minFreePort = 20000
	maxFreePort = 32000
)

// FreePort returns a TCP port that can be bound on 127.0.0.1 and on every address in addrs (which must already
// be configured, see [EnsureLoopbackAddr]).
func FreePort(addrs ...netip.Addr) (int, error) {
	all := append([]netip.Addr{netip.MustParseAddr("127.0.0.1")}, addrs...)
	var lastErr error
	for range 200 {
		port := minFreePort + rand.IntN(maxFreePort-minFreePort)
		if lastErr = bindable(port, all); lastErr == nil {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free tcp port on %v: %w", all, lastErr)
}

// bindable tells whether port can be bound on every address.
func bindable(port int, addrs []netip.Addr) error {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close() // the listeners only tested the port
		}
	}()
	for _, a := range addrs {
		l, err := net.Listen("tcp", netip.AddrPortFrom(a, uint16(port)).String())
		if err != nil {
			return err
		}
		ls = append(ls, l)
	}
	return nil
}

// EnsureLoopbackAddr makes addr usable as a local session address: addresses in 127.0.0.0/8 and ::1 need
// nothing, any other address is added to lo as a /32 or /128 (IPv6 without duplicate address detection) unless
// it is there already. It needs root.
func EnsureLoopbackAddr(addr netip.Addr) error {
	addr = addr.Unmap()
	if !addr.IsValid() {
		return errors.New("ensure loopback address: invalid address")
	}
	if addr.IsLoopback() {
		return nil
	}
	if has, err := loHasAddr(addr); err != nil || has {
		return err
	}
	ip, err := lookPath("ip")
	if err != nil {
		return fmt.Errorf("add %s to lo: %w", addr, err)
	}
	args := []string{"-4", "addr", "add", addr.String() + "/32", "dev", "lo"}
	if addr.Is6() {
		args = []string{"-6", "addr", "add", addr.String() + "/128", "dev", "lo", "nodad"}
	}
	out, err := exec.Command(ip, args...).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "File exists") { // added concurrently by someone else
		return fmt.Errorf("add %s to lo: %s: %w", addr, strings.TrimSpace(string(out)), err)
	}
	return nil
}

// loHasAddr tells whether addr is configured on lo.
func loHasAddr(addr netip.Addr) (bool, error) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return false, fmt.Errorf("find lo: %w", err)
	}
	as, err := lo.Addrs()
	if err != nil {
		return false, fmt.Errorf("addresses of lo: %w", err)
	}
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok {
			if got, ok := netip.AddrFromSlice(n.IP); ok && got.Unmap() == addr {
				return true, nil
			}
		}
	}
	return false, nil
}
