package routeserver

import (
	"fmt"
	"io"
	"log/slog"
	"os"
)

// Redacted is what a Secret shows instead of its value.
const Redacted = "[redacted]"

// Secret is a value that must never be shown, such as a BGP session's
// TCP-MD5 password. It prints, logs and marshals (fmt, slog, JSON, YAML,
// text) as "[redacted]"; only Reveal gives the value, to the one place that
// needs it. The value sits behind a pointer, so that even a struct printed
// field by field (fmt's %v of a struct with an unexported Secret field)
// shows an address, not the password. The zero Secret is "no secret" and
// shows as "".
type Secret struct{ v *string }

// NewSecret wraps s; "" gives the zero Secret.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{v: &s}
}

// Reveal returns the value. Call it only where the value is used, never
// to log or show it.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero tells whether there is no secret.
func (s Secret) IsZero() bool { return s.v == nil }

// Equal tells whether two secrets hold the same value.
func (s Secret) Equal(o Secret) bool { return s.Reveal() == o.Reveal() }

// shown is what the secret prints as.
func (s Secret) shown() string {
	if s.v == nil {
		return ""
	}
	return Redacted
}

// String implements fmt.Stringer.
func (s Secret) String() string { return s.shown() }

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return fmt.Sprintf("routeserver.Secret(%q)", s.shown()) }

// Format implements fmt.Formatter: every verb (%s, %q, %x, %d, %#v…) shows
// the redacted text.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = fmt.Fprint(f, s.GoString())
		return
	}
	_, _ = fmt.Fprint(f, s.shown())
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }

// MarshalText implements encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return fmt.Appendf(nil, "%q", s.shown()), nil }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return s.shown(), nil }

var (
	_ fmt.Formatter  = Secret{}
	_ slog.LogValuer = Secret{}
)

// ReadPrivateFile reads a file that holds secrets (BGP passwords, a TLS
// key), of at most limit bytes, that users other than its owner and group
// may not read. The error names the path and the mode and says how to fix
// it; it never quotes the content.
func ReadPrivateFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o007 != 0 {
		return nil, fmt.Errorf("%s has mode %04o: users other than its owner and group may read it; chmod 0640 %s and chown root:ixpd %s", path, uint32(perm), path, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}
