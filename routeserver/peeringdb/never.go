package peeringdb

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
)

// LoadNeverViaRouteServers reads the PeeringDB net file at path and returns the ASNs whose networks
// have the "Never via route servers" flag set, sorted and without duplicates. The file is decoded
// as a stream, so that a dump of the whole table takes little memory. When the file has a fault,
// the error joins one *Error per problem, up to 20, and no ASN is returned, so that the caller
// keeps the list it had.
func LoadNeverViaRouteServers(path string) ([]uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read PeeringDB file: %w", err)
	}
	defer func() { _ = f.Close() }() // read only
	return parse(path, f)
}

// ParseNeverViaRouteServers reads a PeeringDB net document from r as LoadNeverViaRouteServers
// reads a file.
func ParseNeverViaRouteServers(r io.Reader) ([]uint32, error) {
	return parse("", r)
}

// jsonNet is the part of a PeeringDB net object that is read. The members are kept raw, so that a
// fault names the value, and an absent member is told from a null one.
type jsonNet struct {
	ASN   json.RawMessage `json:"asn"`
	Never json.RawMessage `json:"info_never_via_route_servers"`
}

// stream walks one PeeringDB document.
type stream struct {
	file     string
	dec      *json.Decoder
	problems problems
}

func parse(file string, r io.Reader) ([]uint32, error) {
	s := &stream{file: file, dec: json.NewDecoder(r)}
	asns, _ := s.document()
	if err := s.problems.err(); err != nil {
		return nil, err
	}
	slices.Sort(asns)
	return slices.Compact(asns), nil
}

// document reads the top-level object; it reports false when it found a fault.
func (s *stream) document() ([]uint32, bool) {
	start := s.start()
	tok, err := s.dec.Token()
	switch {
	case errors.Is(err, io.EOF):
		return nil, s.fatal(0, "", errors.New("no JSON object: the file is empty"))
	case err != nil:
		return nil, s.syntax(start, "", err)
	case tok != json.Delim('{'):
		return nil, s.fatal(start, "", fmt.Errorf(`want an object such as {"data": [...]}, got %s`, describe(tok)))
	}
	var (
		asns      []uint32
		sawData   bool
		metaError string
	)
	for s.dec.More() {
		keyStart := s.start()
		tok, err := s.dec.Token()
		if err != nil {
			return nil, s.syntax(keyStart, "", err)
		}
		key, _ := tok.(string) // More and Token guarantee a key here.
		switch key {
		case "data":
			if sawData {
				return nil, s.fatal(keyStart, "", errors.New(`"data" is given twice`))
			}
			sawData = true
			var ok bool
			if asns, ok = s.data(); !ok {
				return nil, false
			}
		case "meta":
			metaStart := s.start()
			var raw json.RawMessage
			if err := s.dec.Decode(&raw); err != nil {
				return nil, s.syntax(metaStart, "meta", err)
			}
			var meta struct {
				Error string `json:"error"`
			}
			if json.Unmarshal(raw, &meta) == nil {
				metaError = meta.Error
			}
		default:
			if !s.skip(key) {
				return nil, false
			}
		}
	}
	end := s.start()
	if _, err := s.dec.Token(); err != nil {
		return nil, s.syntax(end, "", err)
	}
	if !sawData {
		err := errors.New(`no "data" list`)
		if metaError != "" {
			err = fmt.Errorf(`no "data" list; meta.error: %q`, metaError)
		}
		return nil, s.fatal(0, "", err)
	}
	after := s.start()
	if _, err := s.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, s.fatal(after, "", errors.New("more data after the object"))
	}
	return asns, true
}

// data reads the list of net objects, its key consumed.
func (s *stream) data() ([]uint32, bool) {
	start := s.start()
	tok, err := s.dec.Token()
	if err != nil {
		return nil, s.syntax(start, "data", err)
	}
	if tok != json.Delim('[') {
		return nil, s.fatal(start, "data", fmt.Errorf("want a list, got %s", describe(tok)))
	}
	var asns []uint32
	good := true
	for i := 0; s.dec.More(); i++ {
		place := "data[" + strconv.Itoa(i) + "]"
		start := s.start()
		var net *jsonNet
		err := s.dec.Decode(&net)
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			good = false
			if !s.problem(start, place, fmt.Errorf("want an object, got %s", article(typeErr.Value))) {
				return nil, false
			}
			continue
		case err != nil:
			return nil, s.syntax(start, place, err)
		case net == nil:
			good = false
			if !s.problem(start, place, errors.New("want an object, got null")) {
				return nil, false
			}
			continue
		}
		asn, field, err := net.check()
		if err != nil {
			good = false
			if !s.problem(start, place+"."+field, err) {
				return nil, false
			}
			continue
		}
		if asn != 0 {
			asns = append(asns, asn)
		}
	}
	end := s.start()
	if _, err := s.dec.Token(); err != nil {
		return nil, s.syntax(end, "data", err)
	}
	return asns, good
}

// check returns the net's ASN when its flag is set, 0 when not, or the member at fault and what is
// wrong.
func (n *jsonNet) check() (uint32, string, error) {
	if len(n.ASN) == 0 {
		return 0, "asn", errors.New("missing")
	}
	asn, err := strconv.ParseUint(string(n.ASN), 10, 32)
	if err != nil || asn == 0 {
		return 0, "asn", fmt.Errorf("want an AS number from 1 to 4294967295, got %s", shorten(n.ASN))
	}
	switch string(n.Never) {
	case "true":
		return uint32(asn), "", nil
	case "false":
		return 0, "", nil
	case "":
		return 0, "info_never_via_route_servers", errors.New("missing")
	default:
		return 0, "info_never_via_route_servers", fmt.Errorf("want true or false, got %s", shorten(n.Never))
	}
}

// skip reads past the value of the member key, which is not used, without holding it in memory.
func (s *stream) skip(key string) bool {
	depth := 0
	for {
		start := s.start()
		tok, err := s.dec.Token()
		if err != nil {
			return s.syntax(start, key, err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return true
		}
	}
}

// start returns the offset of the next value: the decoder's offset, moved past the white space
// and separator that it has already read.
func (s *stream) start() int64 {
	offset := s.dec.InputOffset()
	var next [64]byte
	n, _ := s.dec.Buffered().Read(next[:])
	for _, c := range next[:n] {
		switch c {
		case ' ', '\t', '\r', '\n', ',', ':':
			offset++
		default:
			return offset
		}
	}
	return offset
}

// problem records a fault at offset and reports whether reading may go on.
func (s *stream) problem(offset int64, place string, err error) bool {
	return s.problems.add(&Error{File: s.file, Offset: offset, Place: place, Err: err})
}

// syntax records a fault in the value at offset that leaves the file unreadable, and returns false.
func (s *stream) syntax(offset int64, place string, err error) bool {
	var syntaxErr *json.SyntaxError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		err = errors.New("not JSON: the file ends too early (cut short?)")
	case errors.As(err, &syntaxErr):
		err = fmt.Errorf("not JSON: %w", err)
	default:
		err = fmt.Errorf("read: %w", err)
	}
	return s.fatal(offset, place, err)
}

// fatal records a fault after which the file is not read further, and returns false.
func (s *stream) fatal(offset int64, place string, err error) bool {
	s.problem(offset, place, err)
	return false
}

// describe names a JSON token: "a list", "a string"...
func describe(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		if tok == json.Delim('[') {
			return "a list"
		}
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	default:
		return "a number"
	}
}

// article turns a json.UnmarshalTypeError value ("number", "bool", "array") into words.
func article(value string) string {
	switch value {
	case "array":
		return "a list"
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	default:
		return "a number"
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
