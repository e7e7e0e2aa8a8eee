package irr

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxProblems is how many problems one load reports before it stops reading.
const maxProblems = 20

// ErrTooManyProblems ends the error of a load that stopped reading after maxProblems problems.
var ErrTooManyProblems = fmt.Errorf("stopped after %d problems", maxProblems)

// Error is one problem with an input file. A failed load returns the join of its *Error values.
type Error struct {
	// File is the path of the file, or the name of a parsed Input.
	File string
	// Line and Column place the fault in the file, counting from 1; both are 0 when the problem is
	// not at one place, such as a file that cannot be read.
	Line, Column int
	// Place is where the fault is in the JSON document, such as "AS-FOO[3].less-equal" (the list
	// AS-FOO, its fourth entry, the member less-equal); "" for the document as a whole.
	Place string
	// Err says what is wrong.
	Err error
}

// Error returns "file:line:column: place: what is wrong", without the parts that are unknown or
// empty.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Column))
		}
		b.WriteString(": ")
	}
	if e.Place != "" {
		b.WriteString(e.Place + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns what is wrong, such as an fs.ErrNotExist.
func (e *Error) Unwrap() error { return e.Err }

// problems collects the problems of one load, up to maxProblems.
type problems struct {
	errs []error
}

// add records a problem and reports whether reading may go on.
func (p *problems) add(e *Error) bool {
	if p.full() {
		return false
	}
	p.errs = append(p.errs, e)
	if len(p.errs) == maxProblems {
		p.errs = append(p.errs, ErrTooManyProblems)
		return false
	}
	return true
}

// full reports whether no more problems are taken.
func (p *problems) full() bool { return len(p.errs) >= maxProblems }

// err joins the problems, nil when there are none.
func (p *problems) err() error { return errors.Join(p.errs...) }

// position returns the 1-based line and column (in bytes) of offset in data.
func position(data []byte, offset int) (line, column int) {
	offset = min(max(offset, 0), len(data))
	before := data[:offset]
	line = bytes.Count(before, []byte{'\n'}) + 1
	column = offset - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, column
}
