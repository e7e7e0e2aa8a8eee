package latency

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// TWAMP-light test packets, RFC 5357 §4.1.2 and §4.2.1, unauthenticated
// mode. Codec only: no I/O.

// Sizes of the unauthenticated test packets.
const (
	// TWAMPSenderSize is the sender packet without padding.
	TWAMPSenderSize = 14
	// TWAMPReflectedSize is the reflected packet without padding; the
	// prober pads its own packets to it so that both directions carry
	// the same number of bytes (RFC 6038).
	TWAMPReflectedSize = 41
)

// ntpEpochOffset is the number of seconds from 1900-01-01 (NTP era 0) to
// 1970-01-01.
const ntpEpochOffset = 2208988800

// errShortPacket is returned for test packets below the minimum size.
var errShortPacket = errors.New("short TWAMP test packet")

// ErrorEstimate is the 16-bit error estimate of RFC 4656 §4.1.2: S
// (clock synchronized to UTC), Z (must be zero), a 6-bit scale and an
// 8-bit multiplier; the error is multiplier·2^(scale−32) seconds.
type ErrorEstimate uint16

// unsyncedEstimate is what ixpd sends: not synchronized, multiplier 1
// (RFC 4656 forbids multiplier 0), scale 0.
const unsyncedEstimate ErrorEstimate = 0x0001

// TWAMPSender is the unauthenticated packet a session-sender sends.
type TWAMPSender struct {
	Seq       uint32
	Timestamp time.Time // T1
	Estimate  ErrorEstimate
}

// TWAMPReflected is the unauthenticated packet a session-reflector sends
// back.
type TWAMPReflected struct {
	Seq            uint32    // the reflector's own sequence number
	Timestamp      time.Time // T3, when the reflector sent it
	Estimate       ErrorEstimate
	Receive        time.Time // T2, when the reflector received the test packet
	SenderSeq      uint32
	SenderTime     time.Time // T1 as the sender wrote it
	SenderEstimate ErrorEstimate
	SenderTTL      uint8
}

// AppendTWAMPSender encodes p padded with zeros to size bytes (at least
// TWAMPSenderSize).
func AppendTWAMPSender(b []byte, p TWAMPSender, size int) []byte {
	size = max(size, TWAMPSenderSize)
	start := len(b)
	b = append(b, make([]byte, size)...)
	o := b[start:]
	binary.BigEndian.PutUint32(o[0:], p.Seq)
	binary.BigEndian.PutUint64(o[4:], NTPTimestamp(p.Timestamp))
	binary.BigEndian.PutUint16(o[12:], uint16(p.Estimate))
	return b
}

// ParseTWAMPSender decodes a sender packet; padding is ignored.
func ParseTWAMPSender(b []byte) (TWAMPSender, error) {
	if len(b) < TWAMPSenderSize {
		return TWAMPSender{}, fmt.Errorf("%w: %d bytes, want at least %d", errShortPacket, len(b), TWAMPSenderSize)
	}
	return TWAMPSender{
		Seq:       binary.BigEndian.Uint32(b[0:]),
		Timestamp: FromNTPTimestamp(binary.BigEndian.Uint64(b[4:])),
		Estimate:  ErrorEstimate(binary.BigEndian.Uint16(b[12:])),
	}, nil
}

// AppendTWAMPReflected encodes p padded with zeros to size bytes (at
// least TWAMPReflectedSize).
func AppendTWAMPReflected(b []byte, p TWAMPReflected, size int) []byte {
	size = max(size, TWAMPReflectedSize)
	start := len(b)
	b = append(b, make([]byte, size)...)
	o := b[start:]
	binary.BigEndian.PutUint32(o[0:], p.Seq)
	binary.BigEndian.PutUint64(o[4:], NTPTimestamp(p.Timestamp))
	binary.BigEndian.PutUint16(o[12:], uint16(p.Estimate))
	// o[14:16] MBZ
	binary.BigEndian.PutUint64(o[16:], NTPTimestamp(p.Receive))
	binary.BigEndian.PutUint32(o[24:], p.SenderSeq)
	binary.BigEndian.PutUint64(o[28:], NTPTimestamp(p.SenderTime))
	binary.BigEndian.PutUint16(o[36:], uint16(p.SenderEstimate))
	// o[38:40] MBZ
	o[40] = p.SenderTTL
	return b
}

// putTWAMPTimestamp overwrites the Timestamp (T3) of an encoded
// reflected packet.
func putTWAMPTimestamp(b []byte, t time.Time) {
	binary.BigEndian.PutUint64(b[4:], NTPTimestamp(t))
}

// ParseTWAMPReflected decodes a reflected packet; padding is ignored.
func ParseTWAMPReflected(b []byte) (TWAMPReflected, error) {
	if len(b) < TWAMPReflectedSize {
		return TWAMPReflected{}, fmt.Errorf("%w: %d bytes, want at least %d", errShortPacket, len(b), TWAMPReflectedSize)
	}
	return TWAMPReflected{
		Seq:            binary.BigEndian.Uint32(b[0:]),
		Timestamp:      FromNTPTimestamp(binary.BigEndian.Uint64(b[4:])),
		Estimate:       ErrorEstimate(binary.BigEndian.Uint16(b[12:])),
		Receive:        FromNTPTimestamp(binary.BigEndian.Uint64(b[16:])),
		SenderSeq:      binary.BigEndian.Uint32(b[24:]),
		SenderTime:     FromNTPTimestamp(binary.BigEndian.Uint64(b[28:])),
		SenderEstimate: ErrorEstimate(binary.BigEndian.Uint16(b[36:])),
		SenderTTL:      b[40],
	}, nil
}

// NTPTimestamp converts t to the 64-bit NTP format: seconds since
// 1900-01-01 in the high 32 bits, the fraction of a second in the low 32
// (about 0.23 ns). Times from 2036-02-07 on wrap into NTP era 1.
func NTPTimestamp(t time.Time) uint64 {
	secs := uint64(t.Unix() + ntpEpochOffset)
	// Rounded up, so that FromNTPTimestamp, which rounds down, gives the
	// same nanosecond back; 999999999 ns stays below 1<<32.
	frac := (uint64(t.Nanosecond())<<32 + 999_999_999) / 1_000_000_000
	return secs<<32 | frac
}

// FromNTPTimestamp converts a 64-bit NTP timestamp to a time. Seconds
// with the top bit clear are read as NTP era 1 (2036-02-07 to 2104), as
// RFC 4330 §3 suggests, so the conversion holds from 1968 to 2104.
func FromNTPTimestamp(v uint64) time.Time {
	secs := int64(v >> 32)
	if secs&0x80000000 == 0 {
		secs += 1 << 32
	}
	nanos := (int64(v&0xffffffff) * 1_000_000_000) >> 32 // rounded down: below 1e9
	return time.Unix(secs-ntpEpochOffset, nanos).UTC()
}
