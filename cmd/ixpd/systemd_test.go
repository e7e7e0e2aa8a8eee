package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// notifySocket is the socket systemd listens on for a Type=notify
// service: the test plays systemd.
type notifySocket struct {
	t    *testing.T
	conn *net.UnixConn
}

// listenNotify opens a notification socket at name (a path, or an abstract
// name starting with @) and points $NOTIFY_SOCKET at it for this test.
func listenNotify(t *testing.T, name string) *notifySocket {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	t.Setenv("NOTIFY_SOCKET", name)
	return &notifySocket{t: t, conn: conn}
}

// next reads the next notification, which must carry want (such as
// READY=1), and returns its fields.
func (s *notifySocket) next(want string) map[string]string {
	s.t.Helper()
	if err := s.conn.SetReadDeadline(time.Now().Add(60 * time.Second)); err != nil {
		s.t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := s.conn.Read(buf)
	if err != nil {
		s.t.Fatalf("waiting for %s: %v", want, err)
	}
	msg := string(buf[:n])
	fields := map[string]string{}
	for line := range strings.SplitSeq(msg, "\n") {
		k, v, _ := strings.Cut(line, "=")
		fields[k] = v
	}
	k, v, _ := strings.Cut(want, "=")
	if fields[k] != v {
		s.t.Fatalf("notification %q, want %s first", msg, want)
	}
	return fields
}

// The daemon as systemd runs it (Type=notify): READY=1 once the route
// server and the API answer, RELOADING=1 then READY=1 around a SIGHUP
// reload (with the reloaded members in the status), STOPPING=1 on SIGTERM.
func TestDaemonNotifiesSystemd(t *testing.T) {
	dir := t.TempDir()
	sd := listenNotify(t, filepath.Join(dir, "notify.sock"))
	bin := daemonBinary(t)
	ports := freePorts(t, 2)
	bgpPort, apiPort := ports[0], ports[1]
	writeMembers := func(body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "members.json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeMembers(fmt.Sprintf(e2eMembers, e2eMember(38800, "A", "127.0.0.2")))
	config := filepath.Join(dir, "ixpd.yaml")
	cfg := fmt.Sprintf(`ixp: {name: E2E-IX, country: WS, peering_lan: [127.0.0.0/8]}
members_file: members.json
routeserver: {asn: 64512, router_id: 127.0.0.1, listen: "127.0.0.1:%d", passive: true}
api: {listen: "127.0.0.1:%d"}
`, bgpPort, apiPort)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, config)

	ready := sd.next("READY=1")
	// Ready means serving: both listeners answer at once, without a retry.
	api := client{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", apiPort)}
	if code := api.get("/healthz", nil); code != 200 {
		t.Errorf("GET /healthz right after READY=1: status %d", code)
	}
	bgp, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", bgpPort))
	if err != nil {
		t.Errorf("route server right after READY=1: %v", err)
	} else {
		_ = bgp.Close()
	}
	if want := fmt.Sprintf("serving 1 members, 1 route-server sessions; API on 127.0.0.1:%d", apiPort); ready["STATUS"] != want {
		t.Errorf("STATUS %q, want %q", ready["STATUS"], want)
	}

	writeMembers(fmt.Sprintf(e2eMembers, e2eMember(38800, "A", "127.0.0.2")+","+e2eMember(17993, "B", "127.0.0.3")))
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	reloading := sd.next("RELOADING=1")
	if usec, err := strconv.ParseUint(reloading["MONOTONIC_USEC"], 10, 64); err != nil || usec == 0 {
		t.Errorf("RELOADING=1 with MONOTONIC_USEC %q", reloading["MONOTONIC_USEC"])
	}
	if st := sd.next("READY=1")["STATUS"]; !strings.HasPrefix(st, "serving 2 members, 2 route-server sessions") {
		t.Errorf("STATUS after the reload %q, want the 2 members of the new file", st)
	}

	// A members file with an error changes nothing, and the status says so.
	writeMembers(fmt.Sprintf(e2eMembers, e2eMember(0, "bad", "127.0.0.9")))
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	sd.next("RELOADING=1")
	if st := sd.next("READY=1")["STATUS"]; !strings.HasPrefix(st, "serving 2 members") || !strings.HasSuffix(st, "last reload incomplete (see the log)") {
		t.Errorf("STATUS after a refused reload %q", st)
	}

	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sd.next("STOPPING=1")
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("ixpd exit after SIGTERM: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("ixpd did not stop within 60 s of SIGTERM")
	}
}

// systemd may name an abstract socket (@name); without $NOTIFY_SOCKET
// nothing is sent and nothing fails.
func TestServiceNotifierSockets(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Run("abstract", func(t *testing.T) {
		sd := listenNotify(t, fmt.Sprintf("@ixpd-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
		serviceNotifier{logger: logger}.stopping()
		if got := sd.next("STOPPING=1"); got["STATUS"] != "shutting down" {
			t.Errorf("fields %v", got)
		}
	})
	t.Run("unset", func(t *testing.T) {
		t.Setenv("NOTIFY_SOCKET", "")
		var logs strings.Builder
		serviceNotifier{logger: slog.New(slog.NewTextHandler(&logs, nil))}.ready("serving")
		if logs.Len() != 0 {
			t.Errorf("logged without a socket: %s", logs.String())
		}
	})
}
