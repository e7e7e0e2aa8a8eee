package rpki

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// Protocol versions the cache speaks: 0 is RFC 6810 (what GoBGP's client
// sends), 1 is RFC 8210.
const (
	version0   = 0
	version1   = 1
	maxVersion = version1
)

// Timing parameters of a version 1 End of Data PDU, in seconds (RFC 8210
// section 6).
const (
	refreshInterval = 3600
	retryInterval   = 600
	expireInterval  = 7200
)

// pduType is the type octet of an RTR PDU.
type pduType uint8

// PDU types (RFC 8210 section 5, and version 2 of draft-ietf-sidrops-8210bis
// for ASPA).
const (
	pduSerialNotify  pduType = 0
	pduSerialQuery   pduType = 1
	pduResetQuery    pduType = 2
	pduCacheResponse pduType = 3
	pduIPv4Prefix    pduType = 4
	pduIPv6Prefix    pduType = 6
	pduEndOfData     pduType = 7
	pduCacheReset    pduType = 8
	pduRouterKey     pduType = 9
	pduErrorReport   pduType = 10
	pduASPA          pduType = 11
)

// String names the PDU type as the RFC does.
func (t pduType) String() string {
	switch t {
	case pduSerialNotify:
		return "Serial Notify"
	case pduSerialQuery:
		return "Serial Query"
	case pduResetQuery:
		return "Reset Query"
	case pduCacheResponse:
		return "Cache Response"
	case pduIPv4Prefix:
		return "IPv4 Prefix"
	case pduIPv6Prefix:
		return "IPv6 Prefix"
	case pduEndOfData:
		return "End of Data"
	case pduCacheReset:
		return "Cache Reset"
	case pduRouterKey:
		return "Router Key"
	case pduErrorReport:
		return "Error Report"
	case pduASPA:
		return "ASPA"
	}
	return fmt.Sprintf("type %d", uint8(t))
}

// fromCache reports whether t is a PDU that only a cache sends.
func (t pduType) fromCache() bool {
	switch t {
	case pduSerialNotify, pduCacheResponse, pduIPv4Prefix, pduIPv6Prefix, pduEndOfData, pduCacheReset, pduRouterKey, pduASPA:
		return true
	}
	return false
}

// errorCode is the code of an Error Report PDU (RFC 8210 section 12).
type errorCode uint16

// Error codes.
const (
	errCorruptData        errorCode = 0
	errInternal           errorCode = 1
	errNoDataAvailable    errorCode = 2
	errInvalidRequest     errorCode = 3
	errUnsupportedVersion errorCode = 4
	errUnsupportedPDU     errorCode = 5
	errWithdrawUnknown    errorCode = 6
	errDuplicateAnnounce  errorCode = 7
	errUnexpectedVersion  errorCode = 8
)

// String names the error code as the RFC does.
func (c errorCode) String() string {
	switch c {
	case errCorruptData:
		return "Corrupt Data"
	case errInternal:
		return "Internal Error"
	case errNoDataAvailable:
		return "No Data Available"
	case errInvalidRequest:
		return "Invalid Request"
	case errUnsupportedVersion:
		return "Unsupported Protocol Version"
	case errUnsupportedPDU:
		return "Unsupported PDU Type"
	case errWithdrawUnknown:
		return "Withdrawal of Unknown Record"
	case errDuplicateAnnounce:
		return "Duplicate Announcement Received"
	case errUnexpectedVersion:
		return "Unexpected Protocol Version"
	}
	return fmt.Sprintf("error code %d", uint16(c))
}

// PDU lengths.
const (
	headerLen       = 8
	serialNotifyLen = 12
	serialQueryLen  = 12
	resetQueryLen   = 8
	ipv4PrefixLen   = 20
	ipv6PrefixLen   = 32
	endOfDataLenV0  = 12
	endOfDataLenV1  = 24
	errorReportBase = 16
	// maxPDULen bounds what the cache reads from a router: its queries are
	// 8 or 12 octets; an Error Report may carry a copy of a PDU and text.
	maxPDULen = 64 << 10
	// maxEncapsulated bounds the copy of a bad PDU in an Error Report.
	maxEncapsulated = 256
)

// Prefix PDU flags.
const (
	flagWithdraw = 0
	flagAnnounce = 1
)

// pdu is a PDU read from a router.
type pdu struct {
	version uint8
	typ     pduType
	// field is octets 2-3: the Session ID, or the error code of an Error
	// Report.
	field uint16
	// raw is the whole PDU, header included.
	raw []byte
}

// serial returns the Serial Number of a Serial Query.
func (p pdu) serial() uint32 { return binary.BigEndian.Uint32(p.raw[8:12]) }

// protocolError is a PDU the cache rejects with an Error Report.
type protocolError struct {
	code errorCode
	// pdu is the PDU at fault, or as much of it as was read.
	pdu []byte
	msg string
}

func (e *protocolError) Error() string { return e.code.String() + ": " + e.msg }

// readPDU reads one PDU. Errors are a *protocolError for a length that
// cannot be right, or the reader's error.
func readPDU(r *bufio.Reader) (pdu, error) {
	header, err := r.Peek(headerLen)
	if err != nil {
		if len(header) > 0 && err == io.EOF { //nolint:errorlint // bufio returns io.EOF as is
			err = io.ErrUnexpectedEOF
		}
		return pdu{}, err
	}
	p := pdu{version: header[0], typ: pduType(header[1]), field: binary.BigEndian.Uint16(header[2:4])}
	length := binary.BigEndian.Uint32(header[4:8])
	if length < headerLen || length > maxPDULen {
		raw := append([]byte(nil), header...)
		_, _ = r.Discard(headerLen)
		return p, &protocolError{code: errCorruptData, pdu: raw, msg: fmt.Sprintf("%s PDU with length %d", p.typ, length)}
	}
	p.raw = make([]byte, length)
	if _, err := io.ReadFull(r, p.raw); err != nil {
		if err == io.EOF { //nolint:errorlint // io.ReadFull returns io.EOF as is
			err = io.ErrUnexpectedEOF
		}
		return pdu{}, err
	}
	return p, nil
}

func appendHeader(b []byte, version uint8, t pduType, field uint16, length uint32) []byte {
	b = append(b, version, byte(t))
	b = binary.BigEndian.AppendUint16(b, field)
	return binary.BigEndian.AppendUint32(b, length)
}

func appendSerialNotify(b []byte, version uint8, session uint16, serial uint32) []byte {
	b = appendHeader(b, version, pduSerialNotify, session, serialNotifyLen)
	return binary.BigEndian.AppendUint32(b, serial)
}

func appendCacheResponse(b []byte, version uint8, session uint16) []byte {
	return appendHeader(b, version, pduCacheResponse, session, headerLen)
}

func appendPrefix(b []byte, version, flags uint8, v VRP) []byte {
	addr := v.Prefix.Addr()
	if addr.Is4() {
		b = appendHeader(b, version, pduIPv4Prefix, 0, ipv4PrefixLen)
		b = append(b, flags, byte(v.Prefix.Bits()), v.MaxLength, 0)
		a := addr.As4()
		b = append(b, a[:]...)
	} else {
		b = appendHeader(b, version, pduIPv6Prefix, 0, ipv6PrefixLen)
		b = append(b, flags, byte(v.Prefix.Bits()), v.MaxLength, 0)
		a := addr.As16()
		b = append(b, a[:]...)
	}
	return binary.BigEndian.AppendUint32(b, v.ASN)
}

func appendEndOfData(b []byte, version uint8, session uint16, serial uint32) []byte {
	if version == version0 {
		b = appendHeader(b, version, pduEndOfData, session, endOfDataLenV0)
		return binary.BigEndian.AppendUint32(b, serial)
	}
	b = appendHeader(b, version, pduEndOfData, session, endOfDataLenV1)
	for _, n := range [...]uint32{serial, refreshInterval, retryInterval, expireInterval} {
		b = binary.BigEndian.AppendUint32(b, n)
	}
	return b
}

func appendCacheReset(b []byte, version uint8) []byte {
	return appendHeader(b, version, pduCacheReset, 0, headerLen)
}

func appendErrorReport(b []byte, version uint8, code errorCode, bad []byte, text string) []byte {
	if len(bad) > maxEncapsulated {
		bad = bad[:maxEncapsulated]
	}
	b = appendHeader(b, version, pduErrorReport, uint16(code), uint32(errorReportBase+len(bad)+len(text)))
	b = binary.BigEndian.AppendUint32(b, uint32(len(bad)))
	b = append(b, bad...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(text)))
	return append(b, text...)
}
