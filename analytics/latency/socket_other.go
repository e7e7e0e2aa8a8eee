//go:build !linux

package latency

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// oobSize: no control messages are asked for outside Linux.
const oobSize = 0

// kernelTimestamps tells whether receive timestamps come from the kernel.
const kernelTimestamps = false

var errUnsupported = errors.New("not supported on this system")

func enableRxTimestamps(syscall.Conn) error { return errUnsupported }
func enableRxTTL(syscall.Conn, bool) error  { return errUnsupported }
func setTTL(syscall.Conn, bool, int) error  { return errUnsupported }
func parseRxInfo([]byte) rxInfo             { return rxInfo{ttl: -1} }

type rxInfo struct {
	at  time.Time
	ttl int
}

func listenPing(bool) (*net.UDPConn, error)           { return nil, errUnsupported }
func handshakeRTT(*net.TCPConn) (time.Duration, bool) { return 0, false }

func processCPU() (time.Duration, int64) { return 0, 0 }

func growReceiveBuffer(syscall.Conn) {}
