package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100
// on every Linux architecture Go supports (sysconf(_SC_CLK_TCK) needs cgo).
const clockTicks = 100

// rsProcess is a route server started by the bench.
type rsProcess struct {
	cmd     *exec.Cmd
	log     string
	exited  chan struct{}
	waitErr error
}

// startProcess starts bin in its own process group, with output to
// logPath. The kernel kills it if the bench dies (Pdeathsig); stop ends it
// otherwise.
func startProcess(bin string, args []string, dir, logPath string) (*rsProcess, error) {
	return startProcessIn(bin, args, dir, logPath, nil)
}

// startProcessIn is startProcess with the process started inside cgroup
// cg (nil: where the bench runs), so that cg counts it and every process
// it forks.
func startProcessIn(bin string, args []string, dir, logPath string, cg *cpuCgroup) (*rsProcess, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logf.Close() }() // the child holds its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if cg != nil {
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(cg.f.Fd())
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &rsProcess{cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *rsProcess) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM to the process group, and SIGKILL if it has not
// exited after five seconds. The kills are best effort: the group may
// already be gone (ESRCH), and stop waits on the process either way.
func (p *rsProcess) stop() {
	pgid := p.pid()
	select {
	case <-p.exited:
	default:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.exited
		}
	}
	// Anything the route server left in its group goes too.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// exitError describes how the process ended, with the end of its log.
func (p *rsProcess) exitError() error {
	tail, _ := os.ReadFile(p.log)
	if len(tail) > 2000 {
		tail = tail[len(tail)-2000:]
	}
	status := p.waitErr
	if status == nil { // a clean exit
		status = errors.New("exit status 0")
	}
	return fmt.Errorf("%s exited (%w); end of %s:\n%s", p.cmd.Path, status, p.log, bytes.TrimSpace(tail))
}

// waitListening polls /proc/net/tcp until a socket listens on addr, the
// process exits or ctx ends. It does not connect, so the route server sees
// no stray session.
func waitListening(ctx context.Context, p *rsProcess, addr netip.AddrPort) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := listening(addr)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s to listen: %w", addr, ctx.Err())
		case <-p.exited:
			return p.exitError()
		case <-t.C:
		}
	}
}

// listening reports whether /proc/net/tcp has a listening socket on the
// IPv4 address addr (or on 0.0.0.0 with its port).
func listening(addr netip.AddrPort) (bool, error) {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return false, err
	}
	defer func() { _ = f.Close() }()
	a := addr.Addr().As4()
	want := fmt.Sprintf("%02X%02X%02X%02X:%04X", a[3], a[2], a[1], a[0], addr.Port())
	any := fmt.Sprintf("00000000:%04X", addr.Port())
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 3 && (fields[1] == want || fields[1] == any) && fields[3] == "0A" {
			return true, nil
		}
	}
	return false, sc.Err()
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freePort() (uint16, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	if err := ln.Close(); err != nil {
		return 0, err
	}
	return port, nil
}

// procCPU returns the user+system CPU time of process pid.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces and parentheses: fields start after
	// the last ')'. utime and stime are fields 14 and 15 of the line.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc/PID/stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc/PID/stat")
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// procHWM returns the peak resident set size (VmHWM) of process pid in
// bytes.
func procHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("unexpected VmHWM line %q", line)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}

// selfCPU returns this process's user+system CPU time.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// runOutput runs a short command and returns its combined output.
func runOutput(bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	return string(out), err
}

// waitReady polls ready every interval until it returns nil. It gives up,
// stopping the process, when the process exits, ctx ends or timeout
// passes; the error then says why, with ready's last answer.
func (p *rsProcess) waitReady(ctx context.Context, timeout, interval time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return p.exitError()
		case <-ctx.Done():
			p.stop()
			return ctx.Err()
		case <-time.After(interval):
		}
		if time.Now().After(deadline) {
			p.stop()
			return fmt.Errorf("not ready after %s: %w", timeout, err)
		}
	}
}

// groupProcs returns the processes of process group pgid that /proc lists
// now.
func groupProcs(pgid int) ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // gone meanwhile
		}
		// pgrp is the third field after the command name.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		if f := strings.Fields(string(b[i+1:])); len(f) > 2 && f[2] == strconv.Itoa(pgid) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// groupCPU returns the user+system CPU time of process group pgid: each
// live process's own time and that of the children it has waited for. A
// child that nobody waits for (its parent ignores SIGCHLD) is not in it
// once it has exited: cpuCgroup counts those.
func groupCPU(pgid int) (time.Duration, error) {
	pids, err := groupProcs(pgid)
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		// utime, stime, cutime, cstime are fields 14-17 of the line.
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 15 {
			continue
		}
		for _, s := range f[11:15] {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
			}
			total += time.Duration(v) * time.Second / clockTicks
		}
	}
	return total, nil
}

// groupHWM returns the sum of the peak resident set sizes (VmHWM) of the
// live processes of group pgid: for one process its peak, for several an
// upper bound of their peak together.
func groupHWM(pgid int) (int64, error) {
	pids, err := groupProcs(pgid)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, pid := range pids {
		if hwm, err := procHWM(pid); err == nil {
			total += hwm
		}
	}
	if total == 0 {
		return 0, fmt.Errorf("no process of group %d has a VmHWM", pgid)
	}
	return total, nil
}

// kill ends the process group at once, for programs that take their time
// to exit on SIGTERM (pmacct's daemons), and waits on the process.
func (p *rsProcess) kill() {
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	<-p.exited
}
