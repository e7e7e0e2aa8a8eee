package enrich

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

// The RIR delegated-stats format ("RIR statistics exchange format", shared by AFRINIC, APNIC, ARIN,
// LACNIC and RIPE NCC) has one record per line, fields separated by "|":
//
//	version|registry|serial|records|startdate|enddate|UTCoffset      (the header)
//	registry|*|type|*|count|summary                                  (one summary per type)
//	registry|cc|type|start|value|date|status[|extensions...]        (a record)
//
// where type is asn, ipv4 or ipv6; for asn and ipv4 value is the number of AS numbers or addresses
// from start, for ipv6 it is the prefix length. Lines starting with # are comments. The extended
// files add an opaque id (and possibly more) after status.

// maxProblems is how many malformed lines a FileReport keeps; the count covers them all.
const maxProblems = 100

// maxLine is the longest line a delegated file may have.
const maxLine = 64 << 10

// LineError is a malformed line of a delegated file.
type LineError struct {
	File   string // the path given in Config.DelegatedFiles
	Line   int    // 1-based
	Reason string
}

// Error returns "file:line: reason".
func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
}

// FileReport says what New read from one delegated file.
type FileReport struct {
	// Path is the file as given in Config.DelegatedFiles.
	Path string
	// IPv4, IPv6 and ASN count the allocated and assigned records loaded, by type.
	IPv4, IPv6, ASN int
	// NotDelegated counts the records skipped for being available or reserved (or in country ZZ).
	NotDelegated int
	// Malformed counts the malformed lines skipped.
	Malformed int
	// Problems are the first malformed lines, at most 100.
	Problems []*LineError
}

// rirType is the resource type of a record.
type rirType uint8

const (
	rirASN rirType = iota
	rirIPv4
	rirIPv6
)

// rirRecord is one allocated or assigned record. Start and Count describe ASNs or IPv4 addresses;
// Prefix is set for IPv6.
type rirRecord struct {
	Country string
	Type    rirType
	Start   uint32 // first AS number or IPv4 address
	Count   uint64 // number of AS numbers or IPv4 addresses
	Prefix  netip.Prefix
}

// errNotDelegated marks a record that is valid but holds no delegation (available, reserved).
var errNotDelegated = errors.New("not delegated")

// parseDelegated reads a delegated-stats file and calls add for each allocated or assigned record. It
// skips comments, the header and summary lines, counts available and reserved records, and reports
// malformed lines in the returned FileReport without stopping. It returns an error only when r
// cannot be read to the end.
func parseDelegated(r io.Reader, name string, add func(rirRecord)) (FileReport, error) {
	report := FileReport{Path: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	line := 0
	for sc.Scan() {
		line++
		rec, err := parseLine(sc.Text())
		switch {
		case err == nil && rec == nil: // comment, blank, header or summary
		case errors.Is(err, errNotDelegated):
			report.NotDelegated++
		case err != nil:
			report.Malformed++
			if len(report.Problems) < maxProblems {
				report.Problems = append(report.Problems, &LineError{File: name, Line: line, Reason: err.Error()})
			}
		default:
			switch rec.Type {
			case rirASN:
				report.ASN++
			case rirIPv4:
				report.IPv4++
			case rirIPv6:
				report.IPv6++
			}
			add(*rec)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return report, fmt.Errorf("%s:%d: line longer than %d bytes", name, line+1, maxLine)
		}
		return report, fmt.Errorf("%s: after line %d: %w", name, line, err)
	}
	return report, nil
}

// parseLine reads one line. It returns (nil, nil) for a line that holds no record.
func parseLine(text string) (*rirRecord, error) {
	text = strings.TrimSpace(text)
	if text == "" || text[0] == '#' {
		return nil, nil
	}
	f := strings.Split(text, "|")
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	if f[0] != "" && f[0][0] >= '0' && f[0][0] <= '9' {
		// The header: version|registry|serial|records|startdate|enddate|UTCoffset.
		if _, err := strconv.ParseFloat(f[0], 64); err != nil || len(f) < 7 {
			return nil, fmt.Errorf("bad header line %s", quote(text))
		}
		return nil, nil
	}
	if len(f) >= 6 && f[1] == "*" && f[3] == "*" && f[5] == "summary" {
		return nil, nil
	}
	if len(f) < 7 {
		return nil, fmt.Errorf("%d fields, want at least 7: %s", len(f), quote(text))
	}
	cc, typ, start, value, status := f[1], f[2], f[3], f[4], f[6]
	switch strings.ToLower(status) {
	case "allocated", "assigned":
	case "available", "reserved":
		return nil, errNotDelegated
	default:
		return nil, fmt.Errorf("unknown status %s", quote(status))
	}
	if cc == "ZZ" {
		return nil, errNotDelegated
	}
	if !validCountry(cc) {
		return nil, fmt.Errorf("%s record %s has country %s, not an ISO 3166-1 alpha-2 code", typ, start, quote(cc))
	}
	rec := &rirRecord{Country: cc}
	switch strings.ToLower(typ) {
	case "asn":
		rec.Type = rirASN
		first, err := strconv.ParseUint(start, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("asn record: start %s is not an AS number", quote(start))
		}
		count, err := rangeCount(value, first)
		if err != nil {
			return nil, fmt.Errorf("asn record %d: %w", first, err)
		}
		rec.Start, rec.Count = uint32(first), count
	case "ipv4":
		rec.Type = rirIPv4
		addr, err := netip.ParseAddr(start)
		if err != nil || !addr.Is4() {
			return nil, fmt.Errorf("ipv4 record: start %s is not an IPv4 address", quote(start))
		}
		b := addr.As4()
		first := uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
		count, err := rangeCount(value, first)
		if err != nil {
			return nil, fmt.Errorf("ipv4 record %s: %w", start, err)
		}
		rec.Start, rec.Count = uint32(first), count
	case "ipv6":
		rec.Type = rirIPv6
		addr, err := netip.ParseAddr(start)
		if err != nil || !addr.Is6() || addr.Is4In6() || addr.Zone() != "" {
			return nil, fmt.Errorf("ipv6 record: start %s is not an IPv6 address", quote(start))
		}
		length, err := strconv.ParseUint(value, 10, 8)
		if err != nil || length > 128 {
			return nil, fmt.Errorf("ipv6 record %s: prefix length %s is not 0 to 128", start, quote(value))
		}
		rec.Prefix = netip.PrefixFrom(addr, int(length))
		if rec.Prefix.Masked() != rec.Prefix {
			return nil, fmt.Errorf("ipv6 record %s: host bits set for /%d", start, length)
		}
	default:
		return nil, fmt.Errorf("unknown type %s", quote(typ))
	}
	return rec, nil
}

// rangeCount reads the count of an asn or ipv4 record starting at first: at least 1, and the range
// must end within the 32-bit space.
func rangeCount(value string, first uint64) (uint64, error) {
	count, err := strconv.ParseUint(value, 10, 64)
	if err != nil || count == 0 {
		return 0, fmt.Errorf("count %s is not a positive number", quote(value))
	}
	if count > 1<<32-first {
		return 0, fmt.Errorf("count %d runs past the end of the 32-bit space", count)
	}
	return count, nil
}

// splitRange calls emit with the shortest list of aligned blocks (start, prefix length in a 32-bit
// space) that covers count values from start. RIR counts need not be powers of two: AFRINIC's
// 196.4.20.0 + 2560 addresses is 196.4.20.0/22, 196.4.24.0/22 and 196.4.28.0/23.
func splitRange(start uint32, count uint64, emit func(start uint32, bits int)) {
	next := uint64(start)
	end := next + count
	for next < end {
		// The largest block aligned at next: 2^(trailing zeros), 2^32 for 0.
		size := uint64(1) << 32
		if next != 0 {
			size = uint64(1) << bits.TrailingZeros64(next)
		}
		for size > end-next {
			size >>= 1
		}
		emit(uint32(next), 32-bits.TrailingZeros64(size))
		next += size
	}
}

// quote quotes s for a message, shortened to 80 bytes.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strconv.Quote(s)
}
