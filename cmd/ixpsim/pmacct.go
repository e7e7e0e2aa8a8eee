package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
)

// The pmacct targets of flow-bench: Debian's pmacct daemons with the print
// plugin writing CSV to a file, the anchor of a collector that stores what
// it receives in the simplest way.
const (
	targetSfacctd = "sfacctd" // takes the sFlow stream
	targetNfacctd = "nfacctd" // takes the IPFIX stream (-ipfix-share 1)
)

// pmacctRefresh is the print plugin's print_refresh_time in seconds: how
// often it writes its cache out.
const pmacctRefresh = 1

// pmacctConfig returns the configuration of daemon (sfacctd or nfacctd)
// listening on listen and writing, every pmacctRefresh seconds, one CSV
// line per source and destination address seen with its packet and byte
// counts to out (appending).
//
// Renormalization is off, so a sampled packet counts as 1 packet: the
// PACKETS column adds up to the flows taken (flow-send's IPFIX records
// hold one packet each). The receive buffer asked for is ixpd's 32 MiB
// (the kernel caps it at net.core.rmem_max), the plugin buffers are
// pmacct's advice for high rates: a 64 KiB buffer and a pipe of 1,024 of
// them between the daemon's core and the plugin.
func pmacctConfig(daemon string, listen netip.AddrPort, out string) ([]byte, error) {
	if daemon != targetSfacctd && daemon != targetNfacctd {
		return nil, fmt.Errorf("pmacct daemon %q: want %s or %s", daemon, targetSfacctd, targetNfacctd)
	}
	if !listen.IsValid() || strings.ContainsAny(out, "\n\r") || out == "" {
		return nil, fmt.Errorf("pmacct config: bad listen address %s or output file %q", listen, out)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "! ixpsim flow-bench: %s, print plugin to a CSV file\n", daemon)
	fmt.Fprintf(&b, "daemonize: false\n")
	fmt.Fprintf(&b, "%s_ip: %s\n", daemon, listen.Addr())
	fmt.Fprintf(&b, "%s_port: %d\n", daemon, listen.Port())
	fmt.Fprintf(&b, "%s_renormalize: false\n", daemon)
	fmt.Fprintf(&b, "%s_pipe_size: %d\n", daemon, 32<<20)
	fmt.Fprintf(&b, "plugins: print\n")
	fmt.Fprintf(&b, "aggregate: src_host, dst_host\n")
	fmt.Fprintf(&b, "print_output: csv\n")
	fmt.Fprintf(&b, "print_output_file: %s\n", out)
	fmt.Fprintf(&b, "print_output_file_append: true\n")
	fmt.Fprintf(&b, "print_refresh_time: %d\n", pmacctRefresh)
	fmt.Fprintf(&b, "plugin_buffer_size: %d\n", 64<<10)
	fmt.Fprintf(&b, "plugin_pipe_size: %d\n", 64<<20)
	return b.Bytes(), nil
}

// pmacctReady reports, as an error, what the daemon logging to logPath
// lacks to take flows on port: the socket bound, and the print plugin's
// cache made (it logs its size). Datagrams that come before the plugin is
// ready are lost: sfacctd counted none of 2,000 sent within a millisecond
// of binding.
func pmacctReady(logPath string, port uint16) error {
	bound, err := udpBound(port)
	if err != nil {
		return err
	}
	if !bound {
		return fmt.Errorf("flow port %d not bound", port)
	}
	log, err := os.ReadFile(logPath)
	if err != nil {
		return err
	}
	if !bytes.Contains(log, []byte("cache entries=")) {
		return errors.New("print plugin not ready (no \"cache entries=\" in its log)")
	}
	return nil
}

// printCounter adds up the PACKETS column of the print plugin's CSV file
// as it grows: each call reads only what was appended since the last.
type printCounter struct {
	path  string
	off   int64
	rest  []byte // an unfinished last line
	col   int    // index of PACKETS; -1 until a header line is read
	total int64
}

func newPrintCounter(path string) *printCounter { return &printCounter{path: path, col: -1} }

// read returns the packets counted so far. A file not yet written counts
// 0.
func (c *printCounter) read() (int64, error) {
	f, err := os.Open(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return c.total, nil
	}
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Seek(c.off, io.SeekStart); err != nil {
		return 0, err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return 0, err
	}
	c.off += int64(len(b))
	buf := slices.Concat(c.rest, b)
	end := bytes.LastIndexByte(buf, '\n')
	if end < 0 {
		c.rest = buf
		return c.total, nil
	}
	for line := range strings.Lines(string(buf[:end+1])) {
		if err := c.line(strings.TrimRight(line, "\r\n")); err != nil {
			return 0, fmt.Errorf("%s: %w", c.path, err)
		}
	}
	c.rest = append([]byte(nil), buf[end+1:]...)
	return c.total, nil
}

func (c *printCounter) line(line string) error {
	if line == "" {
		return nil
	}
	fields := strings.Split(line, ",")
	if i := slices.Index(fields, "PACKETS"); i >= 0 { // a header, written when the file is new
		c.col = i
		return nil
	}
	if c.col < 0 {
		return fmt.Errorf("line %q before any header", line)
	}
	if c.col >= len(fields) {
		return fmt.Errorf("line %q has no PACKETS column (%d)", line, c.col)
	}
	n, err := strconv.ParseInt(fields[c.col], 10, 64)
	if err != nil {
		return fmt.Errorf("line %q: PACKETS: %w", line, err)
	}
	c.total += n
	return nil
}

// pmacctVersion returns the daemon's name and version from its -V
// output, "" if it does not run.
func pmacctVersion(bin string) string {
	out, _ := runOutput(bin, "-V")
	return parsePmacctVersion(out)
}

// parsePmacctVersion reads "sFlow Accounting Daemon, sfacctd 1.7.7-git
// [RELEASE]" as "sfacctd 1.7.7-git".
func parsePmacctVersion(out string) string {
	first, _, _ := strings.Cut(out, "\n")
	_, v, ok := strings.Cut(first, ", ")
	if !ok {
		return ""
	}
	v, _, _ = strings.Cut(v, " [")
	return strings.TrimSpace(v)
}
