package main

import (
	"fmt"
	"log/slog"
	"strconv"

	systemd "github.com/coreos/go-systemd/v22/daemon" // not daemon: the tests have a type of that name
	"golang.org/x/sys/unix"
)

// serviceNotifier tells systemd the daemon's state (sd_notify) through
// $NOTIFY_SOCKET, which systemd sets for a Type=notify unit: READY=1 once
// the route server and the API are up, RELOADING=1 and READY=1 around a
// SIGHUP reload, STOPPING=1 at shutdown, and a STATUS line that
// `systemctl status ixpd` shows. Without $NOTIFY_SOCKET it does nothing.
type serviceNotifier struct {
	logger *slog.Logger
}

// ready says that the daemon serves, with a status line.
func (n serviceNotifier) ready(status string) {
	n.send("READY=1\nSTATUS=" + status)
}

// reloading says that a reload has begun; ready must follow.
// MONOTONIC_USEC lets systemd 253+ match the message to the reload.
func (n serviceNotifier) reloading() {
	state := "RELOADING=1\nSTATUS=reloading the members file"
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err == nil {
		state += "\nMONOTONIC_USEC=" + strconv.FormatInt(ts.Nano()/1000, 10)
	}
	n.send(state)
}

// stopping says that the daemon shuts down.
func (n serviceNotifier) stopping() {
	n.send("STOPPING=1\nSTATUS=shutting down")
}

// send writes one notification. systemd not listening is no reason to
// stop serving: a failure is logged and dropped.
func (n serviceNotifier) send(state string) {
	if _, err := systemd.SdNotify(false, state); err != nil {
		n.logger.Warn("systemd notification", "state", state, "err", err)
	}
}

// serviceStatus is the STATUS line while the daemon serves.
func (a *app) serviceStatus(reloadErr error) string {
	status := "serving"
	if set := a.members.Load(); set != nil {
		status = fmt.Sprintf("serving %d members, %d route-server sessions", len(set.Members), len(set.Sessions()))
	}
	status += "; API on " + a.cfg.API.Listen
	if reloadErr != nil {
		status += "; last reload incomplete (see the log)"
	}
	return status
}
