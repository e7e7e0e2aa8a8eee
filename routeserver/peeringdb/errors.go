package peeringdb

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxProblems is how many problems one parse reports before it stops reading.
const maxProblems = 20

// ErrTooManyProblems ends the error of a parse that stopped reading after maxProblems problems.
var ErrTooManyProblems = fmt.Errorf("stopped after %d problems", maxProblems)

// Error is one problem with a PeeringDB file. A failed parse returns the join of its *Error values.
type Error struct {
	// File is the path of the file, "" when read by Parse.
	File string
	// Offset is where the fault is in the file, in bytes from its start: the start of the value at
	// fault, or of the value that holds a syntax error.
	Offset int64
	// Place is where the fault is in the JSON document, such as "data[3].asn"; "" for the document
	// as a whole.
	Place string
	// Err says what is wrong.
	Err error
}

// Error returns "file: offset N: place: what is wrong", without the file and place when empty.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	b.WriteString("offset " + strconv.FormatInt(e.Offset, 10) + ": ")
	if e.Place != "" {
		b.WriteString(e.Place + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns what is wrong.
func (e *Error) Unwrap() error { return e.Err }

// problems collects the problems of one parse, up to maxProblems.
type problems struct {
	errs []error
}

// add records a problem and reports whether reading may go on.
func (p *problems) add(e *Error) bool {
	if len(p.errs) >= maxProblems {
		return false
	}
	p.errs = append(p.errs, e)
	if len(p.errs) == maxProblems {
		p.errs = append(p.errs, ErrTooManyProblems)
		return false
	}
	return true
}

// err joins the problems, nil when there are none.
func (p *problems) err() error { return errors.Join(p.errs...) }
