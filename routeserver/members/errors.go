package members

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// FieldError is one problem found in a members file.
type FieldError struct {
	// Path is a JSON pointer (RFC 6901) to the value at fault, or to the object that lacks a required
	// field; "" is the whole file.
	Path string
	// Message says what is wrong, with the bad value.
	Message string
}

// Error returns "<path>: <message>", or the message alone when the problem is with the whole file.
func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// Problems returns every *FieldError held in err, which may be wrapped and joined, in order.
func Problems(err error) []*FieldError {
	var problems []*FieldError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) { //nolint:errorlint // walks every branch of the wrap tree itself
		case nil:
		case *FieldError:
			problems = append(problems, e)
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return problems
}

// joinProblems sorts problems by path and joins them into one error.
func joinProblems(problems []*FieldError) error {
	slices.SortStableFunc(problems, func(a, b *FieldError) int {
		return comparePointers(a.Path, b.Path)
	})
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// comparePointers orders JSON pointers token by token, array indexes by number, so that problems come
// in file order (/member_list/2 before /member_list/10).
func comparePointers(a, b string) int {
	for a != "" && b != "" {
		var ta, tb string
		ta, a = nextToken(a)
		tb, b = nextToken(b)
		na, errA := strconv.Atoi(ta)
		nb, errB := strconv.Atoi(tb)
		var c int
		if errA == nil && errB == nil {
			c = cmp.Compare(na, nb)
		} else {
			c = cmp.Or(cmp.Compare(keyRank(ta), keyRank(tb)), strings.Compare(ta, tb))
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// keyOrder lists the keys of the IX-F format in the order the schema gives them, so that problems are
// listed in the order a file is usually written in. Other keys follow, sorted by name.
var keyOrder = []string{
	"version", "timestamp", "ixp_list", "member_list",
	"asnum", "member_type", "name", "url", "peering_policy", "peering_policy_url", "member_since",
	"contact_email", "contact_phone", "contact_hours", "connection_list",
	"ixp_id", "state", "connected_since", "if_list", "vlan_list",
	"vlan_id", "ipv4", "ipv6",
	"address", "as_macro", "max_prefix", "routeserver", "mac_addresses", "services",
}

// keyRank returns the position of key in keyOrder, or len(keyOrder) for other keys.
func keyRank(key string) int {
	if i := slices.Index(keyOrder, key); i >= 0 {
		return i
	}
	return len(keyOrder)
}

// nextToken splits the first reference token off a non-empty JSON pointer.
func nextToken(p string) (token, rest string) {
	p = p[1:]
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, ""
}

// pointer builds a JSON pointer from unescaped reference tokens.
func pointer(tokens []string) string {
	var b strings.Builder
	escaper := strings.NewReplacer("~", "~0", "/", "~1")
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(escaper.Replace(t))
	}
	return b.String()
}
