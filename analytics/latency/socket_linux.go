package latency

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// oobSize holds the control messages asked for: a timestamp and a TTL or
// hop limit.
const oobSize = 128

// kernelTimestamps tells whether receive timestamps come from the kernel.
const kernelTimestamps = true

// setsockoptInt sets an integer socket option through the runtime's
// descriptor.
func setsockoptInt(c syscall.Conn, level, opt, value int) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), level, opt, value)
	}); err != nil {
		return err
	}
	return serr
}

// enableRxTimestamps asks the kernel to stamp every datagram received on
// c with the time it arrived (SO_TIMESTAMPNS, CLOCK_REALTIME).
func enableRxTimestamps(c syscall.Conn) error {
	if err := setsockoptInt(c, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fmt.Errorf("set SO_TIMESTAMPNS: %w", err)
	}
	return nil
}

// enableRxTTL asks for the TTL (IPv4) or hop limit (IPv6) of received
// datagrams. On an IPv6 socket both are asked for, so that IPv4-mapped
// senders get theirs.
func enableRxTTL(c syscall.Conn, v6 bool) error {
	if v6 {
		if err := setsockoptInt(c, unix.IPPROTO_IPV6, unix.IPV6_RECVHOPLIMIT, 1); err != nil {
			return fmt.Errorf("set IPV6_RECVHOPLIMIT: %w", err)
		}
		// Not every kernel lets a dual-stack socket ask for the IPv4
		// TTL; IPv4-mapped senders then get TTL 0.
		_ = setsockoptInt(c, unix.IPPROTO_IP, unix.IP_RECVTTL, 1)
		return nil
	}
	if err := setsockoptInt(c, unix.IPPROTO_IP, unix.IP_RECVTTL, 1); err != nil {
		return fmt.Errorf("set IP_RECVTTL: %w", err)
	}
	return nil
}

// setTTL sets the TTL or hop limit of the datagrams sent on c.
func setTTL(c syscall.Conn, v6 bool, ttl int) error {
	if v6 {
		return setsockoptInt(c, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, ttl)
	}
	return setsockoptInt(c, unix.IPPROTO_IP, unix.IP_TTL, ttl)
}

// rxInfo is what the control messages of one datagram say.
type rxInfo struct {
	at  time.Time // kernel receive time; zero when absent
	ttl int       // TTL or hop limit; -1 when absent
}

// parseRxInfo reads the control messages of a received datagram.
func parseRxInfo(oob []byte) rxInfo {
	info := rxInfo{ttl: -1}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return info
	}
	for _, m := range msgs {
		h, d := m.Header, m.Data
		switch {
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(d) >= 16:
			// struct timespec: two native longs on 64-bit Linux.
			info.at = time.Unix(int64(binary.NativeEndian.Uint64(d[0:])), int64(binary.NativeEndian.Uint64(d[8:])))
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(d) >= 8:
			// 32-bit: two 32-bit longs.
			info.at = time.Unix(int64(int32(binary.NativeEndian.Uint32(d[0:]))), int64(int32(binary.NativeEndian.Uint32(d[4:]))))
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_TTL && len(d) >= 4:
			info.ttl = int(int32(binary.NativeEndian.Uint32(d)))
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_HOPLIMIT && len(d) >= 4:
			info.ttl = int(int32(binary.NativeEndian.Uint32(d)))
		}
	}
	return info
}

// listenPing opens an unprivileged ICMP "ping" socket (SOCK_DGRAM,
// IPPROTO_ICMP or IPPROTO_ICMPV6). The kernel allows it to the groups in
// net.ipv4.ping_group_range (both families), fills in the echo identifier
// and checksum, and hands the socket only the replies to its own
// requests.
func listenPing(v6 bool) (*net.UDPConn, error) {
	family, proto := unix.AF_INET, unix.IPPROTO_ICMP
	var sa unix.Sockaddr = &unix.SockaddrInet4{}
	if v6 {
		family, proto, sa = unix.AF_INET6, unix.IPPROTO_ICMPV6, &unix.SockaddrInet6{}
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		_ = unix.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	f := os.NewFile(uintptr(fd), "icmp-ping")
	c, err := net.FilePacketConn(f)
	_ = f.Close() // FilePacketConn made its own copy
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UDPConn)
	if !ok {
		_ = c.Close()
		return nil, fmt.Errorf("ping socket came back as %T", c)
	}
	return uc, nil
}

// handshakeRTT returns the kernel's RTT of a connection just established
// (tcpi_rtt: the SYN to SYN-ACK sample, in µs).
func handshakeRTT(c *net.TCPConn) (time.Duration, bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	var info *unix.TCPInfo
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || gerr != nil || info.Rtt == 0 {
		return 0, false
	}
	return time.Duration(info.Rtt) * time.Microsecond, true
}

// processCPU returns the user and system time of the process, and its
// peak resident memory in bytes.
func processCPU() (time.Duration, int64) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss * 1024
}

// socketBuffer is the receive buffer asked for on shared sockets: room
// for a few seconds of answers from thousands of targets while the
// process is starved of CPU.
const socketBuffer = 4 << 20

// growReceiveBuffer raises SO_RCVBUF to socketBuffer: SO_RCVBUFFORCE
// passes net.core.rmem_max with CAP_NET_ADMIN; without, the kernel caps
// SO_RCVBUF at rmem_max. Best effort.
func growReceiveBuffer(c syscall.Conn) {
	if setsockoptInt(c, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, socketBuffer) != nil {
		_ = setsockoptInt(c, unix.SOL_SOCKET, unix.SO_RCVBUF, socketBuffer)
	}
}
