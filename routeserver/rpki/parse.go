package rpki

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// maxProblems is how many problems a ParseError lists; the others are only
// counted.
const maxProblems = 20

// Problem is one thing wrong in a VRP document.
type Problem struct {
	// Path is where the problem is, such as "roas[12].maxLength"; "" is the
	// whole document.
	Path string
	// Line is the 1-based line of the value at fault (or of the entry that
	// lacks a key); 0 when unknown.
	Line int
	// Message says what is wrong, with the bad value.
	Message string
}

// String returns "<path>: <message> (line <n>)".
func (p Problem) String() string {
	var b strings.Builder
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", p.Line)
	}
	return b.String()
}

// ParseError is returned for a VRP document that is not valid. It lists the
// first problems in file order; a syntax error ends the list.
type ParseError struct {
	// Problems holds at most 20 problems.
	Problems []Problem
	// Omitted is the number of further problems that were found.
	Omitted int
}

// Error joins the problems with "; ".
func (e *ParseError) Error() string {
	parts := make([]string, 0, len(e.Problems)+1)
	for _, p := range e.Problems {
		parts = append(parts, p.String())
	}
	if e.Omitted > 0 {
		parts = append(parts, fmt.Sprintf("and %d more problems", e.Omitted))
	}
	return strings.Join(parts, "; ")
}

// LoadVRPFile reads the VRP file at path; see ParseVRPs. Errors name the
// file.
func LoadVRPFile(path string) ([]VRP, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("VRP file %s: %w", path, err)
	}
	vrps, err := parseVRPs(data)
	if err != nil {
		return nil, fmt.Errorf("VRP file %s: %w", path, err)
	}
	return vrps, nil
}

// ParseVRPs reads VRPs in the JSON format of rpki-client, Routinator
// (jsonext too) and StayRTR: an object whose "roas" array (required, may be
// empty) holds objects with "asn" (13335 or "AS13335"), "prefix" and
// "maxLength" (the prefix length when absent). Other keys, such as
// "metadata", "ta" or "expires", are ignored.
//
// The result is sorted by address family, prefix, maximum length and ASN,
// without duplicates. A document with problems gives a *ParseError and no
// VRPs.
func ParseVRPs(r io.Reader) ([]VRP, error) {
	var buf bytes.Buffer
	if sized, ok := r.(interface{ Len() int }); ok { // bytes.Reader, strings.Reader, bytes.Buffer
		buf.Grow(sized.Len() + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, fmt.Errorf("read VRPs: %w", err)
	}
	return parseVRPs(buf.Bytes())
}

func parseVRPs(data []byte) ([]VRP, error) {
	// RFC 8259 lets a parser ignore a byte order mark.
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	p := &parser{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	vrps := p.document()
	if len(p.problems) > 0 {
		return nil, &ParseError{Problems: p.problems, Omitted: p.omitted}
	}
	if vrps == nil {
		vrps = []VRP{}
	}
	return sortVRPs(vrps), nil
}

// errStop ends parsing after a problem that leaves the decoder unusable.
var errStop = errors.New("stop")

// parser walks one document with a streaming decoder, so that each ROA is
// decoded into a small typed struct, and collects problems.
type parser struct {
	data     []byte
	dec      *json.Decoder
	problems []Problem
	omitted  int
}

// document parses the top-level object.
func (p *parser) document() []VRP {
	var vrps []VRP
	start := p.dec.InputOffset()
	tok, err := p.dec.Token()
	if err != nil {
		p.syntax(err, "")
		return nil
	}
	if tok != json.Delim('{') {
		p.add("", start, "want an object with a \"roas\" array, got %s", describeToken(tok))
		return nil
	}
	seen := false
	for p.dec.More() {
		keyStart := p.dec.InputOffset()
		tok, err := p.dec.Token()
		if err != nil {
			p.syntax(err, "")
			return nil
		}
		key, _ := tok.(string)
		if key != "roas" {
			if err := p.dec.Decode(&skipValue{}); err != nil {
				p.syntax(err, key)
				return nil
			}
			continue
		}
		if seen {
			p.add("roas", keyStart, "appears twice")
		}
		seen = true
		var stop error
		if vrps, stop = p.roas(vrps); stop != nil {
			return nil
		}
	}
	if _, err := p.dec.Token(); err != nil { // the closing brace
		p.syntax(err, "")
		return nil
	}
	if !seen {
		p.add("", 0, "missing \"roas\"")
	}
	end := p.dec.InputOffset()
	if tok, err := p.dec.Token(); err != io.EOF { //nolint:errorlint // io.EOF is returned as is
		if err != nil {
			p.syntax(err, "")
		} else {
			p.add("", end, "want nothing after the top-level object, got %s", describeToken(tok))
		}
	}
	return vrps
}

// roas parses the "roas" array and appends its VRPs to vrps.
func (p *parser) roas(vrps []VRP) ([]VRP, error) {
	start := p.dec.InputOffset()
	tok, err := p.dec.Token()
	if err != nil {
		p.syntax(err, "roas")
		return nil, errStop
	}
	if tok != json.Delim('[') {
		p.add("roas", start, "want an array, got %s", describeToken(tok))
		if d, ok := tok.(json.Delim); ok && d == '{' {
			return vrps, p.skipRest()
		}
		return vrps, nil
	}
	if vrps == nil {
		// Every entry has a prefix: size the result once.
		vrps = make([]VRP, 0, bytes.Count(p.data, []byte(`"prefix"`)))
	}
	var e jsonROA
	for i := 0; p.dec.More(); i++ {
		entryStart := p.dec.InputOffset()
		e = jsonROA{}
		if err := p.dec.Decode(&e); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) {
				p.add(entryPath(i), entryStart, "want an object, got %s", typeErr.Value)
				continue
			}
			p.syntax(err, entryPath(i))
			return nil, errStop
		}
		if v, ok := p.entry(&e, i, entryStart); ok {
			vrps = append(vrps, v)
		}
	}
	if _, err := p.dec.Token(); err != nil { // the closing bracket
		p.syntax(err, "roas")
		return nil, errStop
	}
	return vrps, nil
}

// entryPath returns the path of entry i of "roas".
func entryPath(i int) string {
	return "roas[" + strconv.Itoa(i) + "]"
}

// entry checks the decoded entry i of "roas"; entryStart is its offset in
// the document.
func (p *parser) entry(e *jsonROA, i int, entryStart int64) (VRP, bool) {
	entryEnd := p.dec.InputOffset()
	ok := true
	bad := func(key, format string, args ...any) {
		ok = false
		p.add(entryPath(i)+"."+key, p.keyOffset(entryStart, entryEnd, key), format, args...)
	}
	switch {
	case !e.ASN.set:
		bad("asn", "missing")
	case e.ASN.problem != "":
		bad("asn", "%s", e.ASN.problem)
	}
	switch {
	case !e.Prefix.set:
		bad("prefix", "missing")
	case e.Prefix.problem != "":
		bad("prefix", "%s", e.Prefix.problem)
	}
	maxLen := -1
	switch {
	case !e.MaxLength.set:
		if e.Prefix.problem == "" {
			maxLen = e.Prefix.val.Bits()
		}
	case e.MaxLength.problem != "":
		bad("maxLength", "%s", e.MaxLength.problem)
	default:
		maxLen = e.MaxLength.val
	}
	if !e.Prefix.set || e.Prefix.problem != "" || maxLen < 0 {
		return VRP{}, false
	}
	prefix := e.Prefix.val
	family, top := "IPv4", 32
	if prefix.Addr().Is6() {
		family, top = "IPv6", 128
	}
	switch {
	case maxLen < prefix.Bits():
		bad("maxLength", "%d is shorter than the prefix length of %s", maxLen, prefix)
	case maxLen > top:
		bad("maxLength", "%d is longer than %d, the longest %s prefix", maxLen, top, family)
	}
	return VRP{Prefix: prefix, MaxLength: uint8(maxLen), ASN: e.ASN.val}, ok
}

// skipRest consumes tokens up to the end of an object or array whose
// opening delimiter was just read.
func (p *parser) skipRest() error {
	for depth := 1; depth > 0; {
		tok, err := p.dec.Token()
		if err != nil {
			p.syntax(err, "roas")
			return errStop
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// add records a problem at offset off.
func (p *parser) add(path string, off int64, format string, args ...any) {
	if len(p.problems) >= maxProblems {
		p.omitted++
		return
	}
	p.problems = append(p.problems, Problem{Path: path, Line: p.line(off), Message: fmt.Sprintf(format, args...)})
}

// syntax records an error of the decoder, which cannot go on after it. The
// decoder's own offsets are relative to the value it was reading, so the
// position comes from a check of the whole document.
func (p *parser) syntax(err error, path string) {
	var syntaxErr *json.SyntaxError
	if !errors.As(json.Unmarshal(p.data, &skipValue{}), &syntaxErr) && !errors.As(err, &syntaxErr) {
		p.add(path, -1, "not JSON: %v", err)
		return
	}
	off := max(syntaxErr.Offset-1, 0) // the offending byte
	line, col := p.position(off)
	p.add(path, -1, "not JSON: %s at line %d, column %d (offset %d)", syntaxErr.Error(), line, col, off)
}

// line returns the line of the first token at or after off; 0 for a
// negative offset.
func (p *parser) line(off int64) int {
	if off < 0 {
		return 0
	}
	i := min(int(off), len(p.data))
	for i < len(p.data) && strings.IndexByte(" \t\r\n,:", p.data[i]) >= 0 {
		i++
	}
	line, _ := p.position(int64(i))
	return line
}

// position returns the 1-based line and column of byte offset off.
func (p *parser) position(off int64) (line, col int) {
	before := p.data[:min(int(off), len(p.data))]
	line = 1 + bytes.Count(before, []byte{'\n'})
	col = 1 + len(before) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, col
}

// keyOffset returns the offset of "key" within the entry at data[start:end],
// or start when it is not there (a missing key, or one spelled with escapes
// or another case).
func (p *parser) keyOffset(start, end int64, key string) int64 {
	if start < 0 || end > int64(len(p.data)) || start > end {
		return start
	}
	if i := bytes.Index(p.data[start:end], []byte(`"`+key+`"`)); i >= 0 {
		return start + int64(i)
	}
	return start
}

// describeToken names a JSON token for a message.
func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return strconv.Quote(t.String())
	case string:
		return "string " + truncate(strconv.Quote(t))
	case float64:
		return "number " + strconv.FormatFloat(t, 'g', -1, 64)
	case bool:
		return "boolean " + strconv.FormatBool(t)
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}

// jsonROA is one entry of "roas". Its fields check their own values, so
// that a bad value is reported with its place instead of failing the whole
// decode.
type jsonROA struct {
	ASN       jsonASN    `json:"asn"`
	Prefix    jsonPrefix `json:"prefix"`
	MaxLength jsonMaxLen `json:"maxLength"`
}

// jsonASN is 13335 or "AS13335".
type jsonASN struct {
	set     bool
	val     uint32
	problem string
}

// UnmarshalJSON records the ASN or what is wrong with it; it never fails.
func (a *jsonASN) UnmarshalJSON(b []byte) error {
	a.set, a.val, a.problem = true, 0, ""
	digits := b
	if b[0] == '"' {
		s, ok := jsonString(b)
		if !ok || len(s) < 3 || !strings.EqualFold(string(s[:2]), "AS") {
			a.problem = fmt.Sprintf("%s is not \"AS<number>\"", truncate(string(b)))
			return nil
		}
		digits = s[2:]
	}
	if !allDigits(digits) {
		a.problem = fmt.Sprintf("%s is not an AS number", describeRaw(b))
		return nil
	}
	n, err := strconv.ParseUint(string(digits), 10, 32)
	if err != nil {
		a.problem = fmt.Sprintf("%s is out of range (0 to 4294967295)", truncate(string(b)))
		return nil
	}
	a.val = uint32(n)
	return nil
}

// jsonPrefix is a masked prefix in a string, such as "1.0.0.0/24".
type jsonPrefix struct {
	set     bool
	val     netip.Prefix
	problem string
}

// UnmarshalJSON records the prefix or what is wrong with it; it never fails.
func (p *jsonPrefix) UnmarshalJSON(b []byte) error {
	p.set, p.val, p.problem = true, netip.Prefix{}, ""
	s, ok := jsonString(b)
	if !ok {
		p.problem = fmt.Sprintf("want a string, got %s", describeRaw(b))
		return nil
	}
	prefix, err := netip.ParsePrefix(string(s))
	if err != nil {
		p.problem = fmt.Sprintf("%s is not a prefix", truncate(string(b)))
		return nil
	}
	if masked := prefix.Masked(); masked != prefix {
		p.problem = fmt.Sprintf("%s has host bits set (the prefix is %s)", prefix, masked)
		return nil
	}
	p.val = prefix
	return nil
}

// jsonMaxLen is a prefix length.
type jsonMaxLen struct {
	set     bool
	val     int
	problem string
}

// UnmarshalJSON records the length or what is wrong with it; it never
// fails.
func (m *jsonMaxLen) UnmarshalJSON(b []byte) error {
	m.set, m.val, m.problem = true, 0, ""
	if !allDigits(b) {
		m.problem = fmt.Sprintf("%s is not a prefix length", describeRaw(b))
		return nil
	}
	n, err := strconv.ParseUint(string(b), 10, 8)
	if err != nil {
		m.problem = fmt.Sprintf("%s is not a prefix length", truncate(string(b)))
		return nil
	}
	m.val = int(n)
	return nil
}

// skipValue takes any JSON value and keeps nothing.
type skipValue struct{}

// UnmarshalJSON does nothing.
func (*skipValue) UnmarshalJSON([]byte) error { return nil }

// jsonString returns the content of a JSON string literal b.
func jsonString(b []byte) ([]byte, bool) {
	if len(b) < 2 || b[0] != '"' {
		return nil, false
	}
	if bytes.IndexByte(b, '\\') < 0 {
		return b[1 : len(b)-1], true
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, false
	}
	return []byte(s), true
}

func allDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// describeRaw names a raw JSON value for a message: "null", "true", a
// number or a string as written, an object or an array by kind.
func describeRaw(b []byte) string {
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return truncate(string(b))
}

// truncate shortens s to 40 bytes for a message.
func truncate(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:37] + "..."
}
