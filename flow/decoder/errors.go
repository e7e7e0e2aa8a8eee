package decoder

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"

	"github.com/ixpd/ixpd/flow"
)

// ErrorKind classifies a decode problem. Each kind is also the value of the
// kind label of ixpd_flow_decoder_errors_total.
type ErrorKind string

// Error kinds.
const (
	// KindTruncated: the datagram, a set or a sample ends before its declared length.
	KindTruncated ErrorKind = "truncated"
	// KindUnknownVersion: the datagram is not sFlow v5, NetFlow v5/v9 or IPFIX.
	KindUnknownVersion ErrorKind = "unknown_version"
	// KindMalformed: a length, count or identifier in the datagram is impossible.
	KindMalformed ErrorKind = "malformed"
	// KindTemplateMissing: a held NetFlow v9/IPFIX data set was dropped because
	// its template did not arrive in time or the hold was full.
	KindTemplateMissing ErrorKind = "template_missing"
	// KindNoSamplingRate: flows were dropped because neither the datagram, the
	// exporter's options data nor the configuration gave a sampling rate.
	KindNoSamplingRate ErrorKind = "no_sampling_rate"
	// KindBadTime: a flow's start or end time was more than MaxTimeSkew away
	// from the receive time; both were set to the receive time (the flow is kept).
	KindBadTime ErrorKind = "bad_time"
	// KindUnsupported: an sFlow sample carried no record this package can read
	// (for example a sampled 802.11 header); the sample was skipped.
	KindUnsupported ErrorKind = "unsupported"
	// KindLimit: a bound on exporters or templates was reached; the new state
	// was not kept.
	KindLimit ErrorKind = "limit"
)

// errorKinds lists every kind, for metrics.
var errorKinds = [...]ErrorKind{
	KindTruncated, KindUnknownVersion, KindMalformed, KindTemplateMissing,
	KindNoSamplingRate, KindBadTime, KindUnsupported, KindLimit,
}

// Error is what Decode and Expire report: the exporter, the protocol, the
// NetFlow v9/IPFIX template (set) id when one is concerned, the kind of
// problem, and the underlying error if any.
type Error struct {
	Exporter   netip.Addr
	Protocol   flow.Protocol
	TemplateID uint16 // 0 when no template is concerned
	Kind       ErrorKind
	Err        error
}

func (e *Error) Error() string {
	s := "decode " + e.Protocol.String()
	if e.Exporter.IsValid() {
		s += " from " + e.Exporter.String()
	}
	if e.TemplateID != 0 {
		s += " template " + strconv.Itoa(int(e.TemplateID))
	}
	s += ": " + string(e.Kind)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// errPanic marks a panic recovered from a goflow2 decoder.
var errPanic = errors.New("decoder panic")

// kindOf classifies an error returned by a goflow2 decoder.
func kindOf(err error) ErrorKind {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return KindTruncated
	}
	return KindMalformed
}

// recoverInto turns a panic into an error. Use as `defer recoverInto(&err)`.
func recoverInto(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %v", errPanic, r)
	}
}
