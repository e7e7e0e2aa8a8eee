package irr

import (
	"crypto/sha256"
	"encoding/binary"
	"maps"
	"slices"
	"strings"
)

// Data is the IRR data of one load: for each list name, its prefix ranges and its AS numbers. It is
// not changed after Load or Parse returns it, so it may be read from several goroutines. A nil *Data
// holds no names.
type Data struct {
	prefixes     map[string][]PrefixRange
	asns         map[string][]uint32
	fingerprints map[string]uint64
}

// Prefixes returns the prefix ranges of the list name, sorted and without duplicates, and whether
// a prefix file holds that name (a list with no entry counts). Names are matched without regard to
// case. The slice is shared: the caller must not change it.
func (d *Data) Prefixes(name string) ([]PrefixRange, bool) {
	if d == nil {
		return nil, false
	}
	list, ok := d.prefixes[strings.ToUpper(name)]
	return list, ok
}

// ASNs returns the AS numbers of the list name, sorted and without duplicates, and whether an AS
// file holds that name (a list with no entry counts). Names are matched without regard to case. The
// slice is shared: the caller must not change it.
func (d *Data) ASNs(name string) ([]uint32, bool) {
	if d == nil {
		return nil, false
	}
	list, ok := d.asns[strings.ToUpper(name)]
	return list, ok
}

// Names returns every list name, upper-cased and sorted.
func (d *Data) Names() []string {
	if d == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(d.fingerprints))
}

// Fingerprint returns a digest of the prefix ranges and AS numbers of the list name, 0 when there is
// no such name. It is the same for the same content, in this process or another, and differs when
// the content differs, so that a reload can find the lists that changed.
func (d *Data) Fingerprint(name string) uint64 {
	if d == nil {
		return 0
	}
	return d.fingerprints[strings.ToUpper(name)]
}

// Stats returns the number of list names, of prefix ranges and of AS numbers.
func (d *Data) Stats() (names, prefixes, asns int) {
	if d == nil {
		return 0, 0, 0
	}
	for _, list := range d.prefixes {
		prefixes += len(list)
	}
	for _, list := range d.asns {
		asns += len(list)
	}
	return len(d.fingerprints), prefixes, asns
}

// builder gathers the lists of the files of one load.
type builder struct {
	prefixes map[string][]PrefixRange
	asns     map[string][]uint32
	problems problems
}

func newBuilder() *builder {
	return &builder{prefixes: map[string][]PrefixRange{}, asns: map[string][]uint32{}}
}

// finish sorts and deduplicates the lists and returns the Data, or the problems found.
func (b *builder) finish() (*Data, error) {
	if err := b.problems.err(); err != nil {
		return nil, err
	}
	d := &Data{prefixes: b.prefixes, asns: b.asns, fingerprints: map[string]uint64{}}
	for name, list := range d.prefixes {
		if !slices.IsSortedFunc(list, compareRanges) {
			slices.SortFunc(list, compareRanges)
		}
		list = slices.Compact(list)
		if cap(list) > len(list)+len(list)/4 {
			list = slices.Clone(list)
		}
		d.prefixes[name] = slices.Clip(list)
	}
	for name, list := range d.asns {
		slices.Sort(list)
		d.asns[name] = slices.Clip(slices.Compact(list))
	}
	for name := range d.prefixes {
		d.fingerprints[name] = 0
	}
	for name := range d.asns {
		d.fingerprints[name] = 0
	}
	for name := range d.fingerprints {
		d.fingerprints[name] = d.fingerprint(name)
	}
	return d, nil
}

// fingerprint hashes the content of the list name: whether each kind of list is there, and its
// entries.
func (d *Data) fingerprint(name string) uint64 {
	h := sha256.New()
	prefixes, asns := d.prefixes[name], d.asns[name]
	buf := make([]byte, 0, min(64*1024, 32+20*len(prefixes)+4*len(asns)))
	flush := func() {
		h.Write(buf)
		buf = buf[:0]
	}
	_, ok := d.prefixes[name]
	buf = append(buf, 'P', boolByte(ok))
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(prefixes)))
	for _, r := range prefixes {
		if cap(buf)-len(buf) < 20 {
			flush()
		}
		addr := r.Prefix.Addr().As16()
		buf = append(buf, boolByte(r.Prefix.Addr().Is4()))
		buf = append(buf, addr[:]...)
		buf = append(buf, byte(r.Prefix.Bits()), r.Min, r.Max)
	}
	_, ok = d.asns[name]
	buf = append(buf, 'A', boolByte(ok))
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(asns)))
	for _, asn := range asns {
		if cap(buf)-len(buf) < 4 {
			flush()
		}
		buf = binary.BigEndian.AppendUint32(buf, asn)
	}
	flush()
	sum := h.Sum(nil)
	// 0 means "no such name"; a digest of 0 is so unlikely that folding it into 1 costs nothing.
	return max(binary.BigEndian.Uint64(sum), 1)
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}
