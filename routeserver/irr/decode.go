package irr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Kind says what a bgpq4 JSON document lists.
type Kind uint8

const (
	// KindPrefixes is a prefix list document, from bgpq4 -4 -j or bgpq4 -6 -j.
	KindPrefixes Kind = iota + 1
	// KindASNs is an AS list document, from bgpq4 -j -t.
	KindASNs
)

// String returns "prefix" or "AS".
func (k Kind) String() string {
	switch k {
	case KindPrefixes:
		return "prefix"
	case KindASNs:
		return "AS"
	default:
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
}

// jsonPrefix is one entry of a bgpq4 prefix list. The members other than prefix are kept raw, so
// that a fault names the member and the value, and an absent member is told from a null one.
type jsonPrefix struct {
	Prefix       string          `json:"prefix"`
	Exact        json.RawMessage `json:"exact"`
	GreaterEqual json.RawMessage `json:"greater-equal"`
	LessEqual    json.RawMessage `json:"less-equal"`
}

// reset empties e for the next entry and keeps the memory of its raw members.
func (e *jsonPrefix) reset() {
	*e = jsonPrefix{Exact: e.Exact[:0], GreaterEqual: e.GreaterEqual[:0], LessEqual: e.LessEqual[:0]}
}

// document walks one bgpq4 JSON file held in memory.
type document struct {
	b    *builder
	file string
	kind Kind
	data []byte
	dec  *json.Decoder
	// entriesLeft is how many prefix entries the rest of the file may hold, -1 until counted.
	entriesLeft int
}

// parse reads one file into b; it stops at the first fault that leaves the file unreadable, and
// when b takes no more problems.
func (b *builder) parse(file string, kind Kind, data []byte) {
	d := &document{b: b, file: file, kind: kind, data: data, entriesLeft: -1}
	d.dec = json.NewDecoder(bytes.NewReader(data))
	d.dec.UseNumber()
	objects := 0
	for {
		start, c := d.next()
		if start == len(data) {
			break
		}
		if !validStart(c) {
			d.syntax("", nil)
			return
		}
		if c != '{' {
			d.problem(start, "", "want an object of lists such as {\"AS-FOO\": [...]}, got %s", describe(data[start:]))
			return
		}
		objects++
		if !d.object() {
			return
		}
	}
	if objects == 0 {
		d.problem(len(data), "", "no JSON object: the file is empty")
	}
}

// object reads one top-level object, its '{' not yet consumed. It reports whether reading may go
// on.
func (d *document) object() bool {
	if _, err := d.dec.Token(); err != nil {
		return d.syntax("", err)
	}
	for d.dec.More() {
		keyStart, _ := d.next()
		tok, err := d.dec.Token()
		if err != nil {
			return d.syntax("", err)
		}
		name, _ := tok.(string) // More and Token guarantee a key here.
		if strings.TrimSpace(name) == "" {
			if !d.problem(keyStart, "", "a list has an empty name") {
				return false
			}
		}
		start, c := d.next()
		if !validStart(c) {
			return d.syntax(name, nil)
		}
		if c != '[' {
			if !d.problem(start, name, "want a list, got %s", describe(d.data[start:])) {
				return false
			}
			if !d.skip(name) {
				return false
			}
			continue
		}
		if _, err := d.dec.Token(); err != nil {
			return d.syntax(name, err)
		}
		var ok bool
		if d.kind == KindASNs {
			ok = d.asnList(name)
		} else {
			ok = d.prefixList(name)
		}
		if !ok {
			return false
		}
		if _, err := d.dec.Token(); err != nil {
			return d.syntax(name, err)
		}
	}
	if _, err := d.dec.Token(); err != nil {
		return d.syntax("", err)
	}
	return true
}

// prefixList reads the entries of the prefix list name, its '[' consumed.
func (d *document) prefixList(name string) bool {
	key := strings.ToUpper(name)
	list, seen := d.b.prefixes[key]
	if !seen {
		list = []PrefixRange{}
	}
	if d.entriesLeft < 0 {
		d.entriesLeft = bytes.Count(d.data, []byte(`"prefix"`))
	}
	defer func() { d.b.prefixes[key] = list }()
	var e jsonPrefix
	for i := 0; d.dec.More(); i++ {
		d.entriesLeft = max(d.entriesLeft-1, 0)
		start, c := d.next()
		if !validStart(c) {
			return d.syntax(elem(name, i), nil)
		}
		if c != '{' {
			hint := ""
			if c == '-' || (c >= '0' && c <= '9') {
				hint = " (an AS list from bgpq4 -t? give it as an AS file)"
			}
			if !d.problem(start, elem(name, i), "want a prefix entry {\"prefix\": ..., \"exact\": ...}, got %s%s",
				describe(d.data[start:]), hint) {
				return false
			}
			if !d.skip(elem(name, i)) {
				return false
			}
			continue
		}
		e.reset()
		if err := d.dec.Decode(&e); err != nil {
			var typeErr *json.UnmarshalTypeError
			if !errors.As(err, &typeErr) {
				return d.syntax(elem(name, i), err)
			}
			if !d.problem(start, elem(name, i)+"."+typeErr.Field, "want a string, got %s", article(typeErr.Value)) {
				return false
			}
			continue
		}
		r, field, err := e.prefixRange()
		if err != nil {
			place := elem(name, i)
			if field != "" {
				place += "." + field
			}
			if !d.b.problems.add(d.errorAt(start, place, err)) {
				return false
			}
			continue
		}
		// Double the room, but not beyond the entries left in the file, so that a list of a
		// million entries is not copied over and over as append would; finish gives back the
		// room that is not used.
		if len(list) == cap(list) {
			list = slices.Grow(list, min(max(len(list), 16), d.entriesLeft+1))
		}
		list = append(list, r)
	}
	return true
}

// asnList reads the AS numbers of the AS list name, its '[' consumed.
func (d *document) asnList(name string) bool {
	key := strings.ToUpper(name)
	list, seen := d.b.asns[key]
	if !seen {
		list = []uint32{}
	}
	defer func() { d.b.asns[key] = list }()
	for i := 0; d.dec.More(); i++ {
		start, c := d.next()
		if !validStart(c) {
			return d.syntax(elem(name, i), nil)
		}
		if c != '-' && (c < '0' || c > '9') {
			hint := ""
			if c == '{' {
				hint = " (a prefix list? give it as a prefix file)"
			}
			if !d.problem(start, elem(name, i), "want an AS number, got %s%s", describe(d.data[start:]), hint) {
				return false
			}
			if !d.skip(elem(name, i)) {
				return false
			}
			continue
		}
		tok, err := d.dec.Token()
		if err != nil {
			return d.syntax(elem(name, i), err)
		}
		num, _ := tok.(json.Number) // the first byte says it is a number
		asn, err := strconv.ParseUint(string(num), 10, 32)
		if err != nil || asn == 0 {
			if !d.problem(start, elem(name, i), "want an AS number from 1 to 4294967295, got %s", num) {
				return false
			}
			continue
		}
		list = append(list, uint32(asn))
	}
	return true
}

// prefixRange checks e and returns its range, or the member at fault ("" for the entry) and what is
// wrong.
func (e *jsonPrefix) prefixRange() (PrefixRange, string, error) {
	if e.Prefix == "" {
		return PrefixRange{}, "prefix", errors.New("missing or empty")
	}
	p, err := netip.ParsePrefix(e.Prefix)
	if err != nil {
		return PrefixRange{}, "prefix", fmt.Errorf("%q is not an IP prefix", e.Prefix)
	}
	if p != p.Masked() {
		return PrefixRange{}, "prefix", fmt.Errorf("%s has host bits set (%s?)", p, p.Masked())
	}
	bits, longest := p.Bits(), p.Addr().BitLen()
	var exact bool
	switch string(e.Exact) {
	case "true":
		exact = true
	case "false":
	case "":
		return PrefixRange{}, "exact", errors.New("missing")
	default:
		return PrefixRange{}, "exact", fmt.Errorf("want true or false, got %s", shorten(e.Exact))
	}
	ge, haveGE, err := prefixLength(e.GreaterEqual, bits, longest)
	if err != nil {
		return PrefixRange{}, "greater-equal", err
	}
	le, haveLE, err := prefixLength(e.LessEqual, bits, longest)
	if err != nil {
		return PrefixRange{}, "less-equal", err
	}
	r := PrefixRange{Prefix: p, Min: uint8(bits), Max: uint8(bits)}
	switch {
	case exact && (haveGE || haveLE):
		return PrefixRange{}, "", errors.New(`"exact" is true, yet "greater-equal" or "less-equal" is given`)
	case exact:
		return r, "", nil
	case !haveGE && !haveLE:
		return PrefixRange{}, "", errors.New(`"exact" is false, yet neither "greater-equal" nor "less-equal" is given`)
	}
	r.Max = uint8(longest)
	if haveGE {
		r.Min = uint8(ge)
	}
	if haveLE {
		r.Max = uint8(le)
	}
	if r.Min > r.Max {
		return PrefixRange{}, "", fmt.Errorf("greater-equal %d is above less-equal %d", r.Min, r.Max)
	}
	return r, "", nil
}

// prefixLength reads a greater-equal or less-equal member: an integer from bits to longest. It
// reports whether the member is there.
func prefixLength(raw json.RawMessage, bits, longest int) (int, bool, error) {
	if len(raw) == 0 {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(string(raw), 10, 64)
	if err != nil {
		return 0, true, fmt.Errorf("want a prefix length, got %s", shorten(raw))
	}
	switch {
	case n < uint64(bits):
		return 0, true, fmt.Errorf("%d is below the prefix length %d", n, bits)
	case n > uint64(longest):
		return 0, true, fmt.Errorf("%d is above %d, the longest %s prefix", n, longest, familyName(longest))
	}
	return int(n), true, nil
}

// next skips white space and separators and returns the offset of the next value and its first
// byte; the offset is len(data) and the byte 0 at the end.
func (d *document) next() (int, byte) {
	i := int(d.dec.InputOffset())
	for i < len(d.data) {
		switch c := d.data[i]; c {
		case ' ', '\t', '\r', '\n', ',', ':':
			i++
		default:
			return i, c
		}
	}
	return len(d.data), 0
}

// skip reads past the next value, which is at fault, so that the rest of the file is checked too.
func (d *document) skip(place string) bool {
	var raw json.RawMessage
	if err := d.dec.Decode(&raw); err != nil {
		return d.syntax(place, err)
	}
	return true
}

// problem records a fault at offset and reports whether reading may go on.
func (d *document) problem(offset int, place, format string, args ...any) bool {
	return d.b.problems.add(d.errorAt(offset, place, fmt.Errorf(format, args...)))
}

// syntax records a fault that leaves the file unreadable, and returns false. The decoder's own
// offsets are not reliable once Token and Decode are mixed, so the fault is found again by a plain
// scan of the file.
func (d *document) syntax(place string, err error) bool {
	offset, cause := locateSyntaxError(d.data)
	if cause == nil {
		offset, cause = int(d.dec.InputOffset()), err
	}
	if cause == nil {
		cause = errors.New("unexpected input")
	}
	if errors.Is(cause, io.ErrUnexpectedEOF) || errors.Is(cause, io.EOF) {
		cause = errors.New("the file ends too early (cut short?)")
	}
	d.b.problems.add(d.errorAt(offset, place, fmt.Errorf("not JSON: %w", cause)))
	return false
}

// locateSyntaxError returns the offset of the first syntax error in data, a sequence of JSON values,
// and the error; nil when there is none.
func locateSyntaxError(data []byte) (int, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		err := dec.Decode(&discard{})
		var syntaxErr *json.SyntaxError
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return 0, nil
		case errors.As(err, &syntaxErr):
			// The offset counts the byte at fault.
			return int(syntaxErr.Offset) - 1, err
		default:
			return len(data), err
		}
	}
}

// discard is a JSON value that ignores its content.
type discard struct{}

// UnmarshalJSON does nothing.
func (*discard) UnmarshalJSON([]byte) error { return nil }

// errorAt returns the *Error for a fault at offset.
func (d *document) errorAt(offset int, place string, err error) *Error {
	line, column := position(d.data, offset)
	return &Error{File: d.file, Line: line, Column: column, Place: place, Err: err}
}

// familyName returns "IPv4" or "IPv6" for an address length of 32 or 128 bits.
func familyName(longest int) string {
	if longest == 32 {
		return "IPv4"
	}
	return "IPv6"
}

// elem returns the place of entry i of list name.
func elem(name string, i int) string { return name + "[" + strconv.Itoa(i) + "]" }

// validStart reports whether c may start a JSON value.
func validStart(c byte) bool {
	return strings.IndexByte(`{["tfn-0123456789`, c) >= 0
}

// describe names the JSON value that data starts with, which validStart accepts: "a string",
// "null", "an object"...
func describe(data []byte) string {
	switch data[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// article turns a json.UnmarshalTypeError value ("number", "bool", "array") into words.
func article(value string) string {
	kind, _, _ := strings.Cut(value, " ")
	switch kind {
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "bool":
		return "a boolean"
	case "number":
		return "a number"
	case "string":
		return "a string"
	default:
		return value
	}
}

// shorten returns raw JSON for a message, cut to a readable length.
func shorten(raw []byte) string {
	const most = 40
	if len(raw) > most {
		return string(raw[:most]) + "..."
	}
	return string(raw)
}
