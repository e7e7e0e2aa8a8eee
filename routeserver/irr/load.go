package irr

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Load reads bgpq4 JSON files: prefix lists from prefixFiles and AS lists from asnFiles. Each element
// is a path or a glob pattern (filepath.Match syntax); a pattern that matches no file is an error.
// When a file has a fault, Load returns a nil *Data and an error joining one *Error per problem, up
// to 20, so that the caller keeps the data it had.
func Load(prefixFiles, asnFiles []string) (*Data, error) {
	b := newBuilder()
	for _, set := range []struct {
		patterns []string
		kind     Kind
	}{{prefixFiles, KindPrefixes}, {asnFiles, KindASNs}} {
		for _, path := range expand(set.patterns, set.kind, &b.problems) {
			if b.problems.full() {
				break
			}
			data, err := os.ReadFile(path)
			if err != nil {
				// The path is already in Error.File.
				var pathErr *fs.PathError
				if errors.As(err, &pathErr) {
					err = fmt.Errorf("%s: %w", pathErr.Op, pathErr.Err)
				}
				b.problems.add(&Error{File: path, Err: err})
				continue
			}
			b.parse(path, set.kind, data)
		}
	}
	return b.finish()
}

// expand returns the files that patterns name, without duplicates, in the order of the patterns
// and sorted within each.
func expand(patterns []string, kind Kind, p *problems) []string {
	var files []string
	seen := map[string]bool{}
	add := func(file string) {
		if !seen[file] {
			seen[file] = true
			files = append(files, file)
		}
	}
	for _, pattern := range patterns {
		if pattern == "" {
			p.add(&Error{File: pattern, Err: fmt.Errorf("empty %s file name", kind)})
			continue
		}
		if !strings.ContainsAny(pattern, `*?[\`) {
			add(pattern)
			continue
		}
		matches, err := filepath.Glob(pattern)
		switch {
		case err != nil:
			p.add(&Error{File: pattern, Err: fmt.Errorf("bad %s file pattern: %w", kind, err)})
		case len(matches) == 0:
			p.add(&Error{File: pattern, Err: fmt.Errorf("no %s file matches the pattern", kind)})
		}
		for _, m := range matches {
			add(m)
		}
	}
	return files
}

// Input is one bgpq4 JSON document for Parse.
type Input struct {
	// Name names the document in errors, normally its path.
	Name string
	// Kind says whether the document holds prefix lists or AS lists.
	Kind Kind
	// Reader holds the document.
	Reader io.Reader
}

// Parse reads bgpq4 JSON documents as Load reads files.
func Parse(inputs ...Input) (*Data, error) {
	b := newBuilder()
	for _, in := range inputs {
		if b.problems.full() {
			break
		}
		if in.Kind != KindPrefixes && in.Kind != KindASNs {
			return nil, &Error{File: in.Name, Err: fmt.Errorf("unknown input kind %d", in.Kind)}
		}
		if in.Reader == nil {
			return nil, &Error{File: in.Name, Err: errors.New("no reader")}
		}
		data, err := io.ReadAll(in.Reader)
		if err != nil {
			b.problems.add(&Error{File: in.Name, Err: err})
			continue
		}
		b.parse(in.Name, in.Kind, data)
	}
	return b.finish()
}
