package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuCgroup is a cgroup v2 folder a target runs in, so that its CPU time
// counts every process it forks, also those nobody waits for: pmacct's
// print plugin forks a writer for each purge of its cache and ignores
// SIGCHLD, so the writers' time reaches no parent's cutime in /proc.
// cgroup v2 keeps cpu.stat in every folder without any controller.
type cpuCgroup struct {
	dir string
	f   *os.File // the open folder, for clone3's CLONE_INTO_CGROUP
}

// newCPUCgroup makes a cgroup named ixpsim-PID-name below the bench's own
// one in the cgroup v2 hierarchy; name must be unique in the bench. It fails where there is none or it is read-only (an
// unprivileged user, most containers); the caller then counts CPU time
// from /proc.
func newCPUCgroup(name string) (*cpuCgroup, error) {
	mount, err := cgroup2Mount()
	if err != nil {
		return nil, err
	}
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	path, err := unifiedCgroupPath(own)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(mount, path, fmt.Sprintf("ixpsim-%d-%s", os.Getpid(), name))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	f, err := os.Open(dir)
	if err != nil {
		_ = os.Remove(dir)
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	c := &cpuCgroup{dir: dir, f: f}
	if _, err := c.usage(); err != nil {
		c.remove()
		return nil, err
	}
	return c, nil
}

// cgroup2Mount returns where the cgroup v2 hierarchy is mounted
// (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid system).
func cgroup2Mount() (string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	return parseCgroup2Mount(b)
}

// parseCgroup2Mount finds the cgroup2 line of a mountinfo file: the
// mount point is field 5, the file system type follows the " - ".
func parseCgroup2Mount(mountinfo []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		if f := strings.Fields(post); len(f) > 0 && f[0] == "cgroup2" {
			if g := strings.Fields(pre); len(g) > 4 {
				return g[4], nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New("cgroup: no cgroup2 file system mounted")
}

// unifiedCgroupPath returns the "0::" path of a /proc/PID/cgroup file: the
// process's folder in the cgroup v2 hierarchy.
func unifiedCgroupPath(procCgroup []byte) (string, error) {
	for line := range strings.Lines(string(procCgroup)) {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "0::"); ok {
			return p, nil
		}
	}
	return "", errors.New("cgroup: this process is in no cgroup v2 folder")
}

// usage returns the CPU time of every process that ran in the cgroup
// (usage_usec of cpu.stat).
func (c *cpuCgroup) usage() (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, "cpu.stat"))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			us, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s/cpu.stat: %w", c.dir, err)
			}
			return time.Duration(us) * time.Microsecond, nil
		}
	}
	return 0, fmt.Errorf("%s/cpu.stat: no usage_usec", c.dir)
}

// remove kills what is left in the cgroup and removes its folder. It is
// best effort: an empty folder left behind changes no result.
func (c *cpuCgroup) remove() {
	_ = os.WriteFile(filepath.Join(c.dir, "cgroup.kill"), []byte("1"), 0o644)
	_ = c.f.Close()
	for range 50 { // the killed processes leave the cgroup within moments
		if err := os.Remove(c.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
