package members

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"unicode/utf8"
)

// Options are the exchange's settings that a members file is checked against.
type Options struct {
	// PeeringLANs are the exchange's peering LANs; when non-empty, every address must be inside one.
	PeeringLANs []netip.Prefix
	// SchemaFile is the path of the official IX-F JSON schema (ixp-member-list.schema.json); when set,
	// the file is also validated against it.
	SchemaFile string
}

// Load reads and parses the members file at path; see Parse. Errors are prefixed with the file name.
func Load(path string, opts Options) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("members file %s: %w", path, err)
	}
	set, err := Parse(data, opts)
	if err != nil {
		return nil, fmt.Errorf("members file %s: %w", path, err)
	}
	return set, nil
}

// Parse reads an IX-F Member Export 1.0 file. It reports every problem in the file, not only the
// first: the error joins one *FieldError per problem (list them with Problems), and the Set is nil.
// An error that is not about the file's content, such as an unreadable schema file, is returned alone.
func Parse(data []byte, opts Options) (*Set, error) {
	// RFC 8259 lets a parser ignore a byte order mark; some editors write one.
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	doc, syntaxProblem := decodeJSON(data)
	if syntaxProblem != nil {
		return nil, joinProblems([]*FieldError{syntaxProblem})
	}
	set, refs, problems := decode(doc)
	problems = append(problems, check(set, refs, opts.PeeringLANs)...)
	if opts.SchemaFile != "" {
		schemaProblems, err := validateSchema(opts.SchemaFile, data)
		if err != nil {
			return nil, err
		}
		problems = append(problems, schemaProblems...)
	}
	if len(problems) > 0 {
		return nil, joinProblems(problems)
	}
	return set, nil
}

// decodeJSON decodes data into a tree of map[string]any, []any, string, json.Number, bool and nil. A
// syntax error is returned as a problem with the whole file that names the line and column.
func decodeJSON(data []byte) (any, *FieldError) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, syntaxError(data, err)
	}
	if rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, positioned(data, int64(len(data)-len(rest)), "unexpected data after the top-level value")
	}
	return doc, nil
}

// syntaxError turns an error of the JSON decoder into a problem with the whole file.
func syntaxError(data []byte, err error) *FieldError {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		// Offset counts the offending byte.
		return positioned(data, se.Offset-1, se.Error())
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return positioned(data, int64(len(data)), "unexpected end of file")
	default:
		return &FieldError{Message: err.Error()}
	}
}

// positioned returns a problem with the whole file at byte offset off, as a line and a column (in
// characters), both counted from 1.
func positioned(data []byte, off int64, message string) *FieldError {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	column := utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return &FieldError{Message: fmt.Sprintf("line %d, column %d: %s", line, column, message)}
}
