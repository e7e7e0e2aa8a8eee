package collector

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// listener is what arrives on: sFlow or NetFlow/IPFIX.
type listener uint8

const (
	listenSFlow listener = iota
	listenNetFlow
)

func (l listener) String() string {
	if l == listenSFlow {
		return "sflow"
	}
	return "netflow"
}

// datagram is one UDP payload with where and when it came from.
type datagram struct {
	from    listener
	src     netip.AddrPort
	t       time.Time
	payload []byte
}

const maxDatagram = 65535

// listenUDP opens a UDP socket with a large receive buffer and, when
// several sockets share an address, SO_REUSEPORT.
func listenUDP(ctx context.Context, addr string, rcvbuf int, reuse bool) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if reuse {
				if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); serr != nil {
					return
				}
			}
			if rcvbuf > 0 {
				// SO_RCVBUFFORCE passes net.core.rmem_max as root; as a
				// user the kernel caps SO_RCVBUF at it.
				if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf) != nil {
					serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
				}
			}
		})
		return errors.Join(err, serr)
	}}
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return pc.(*net.UDPConn), nil
}

// receiveBuffer reads the socket's actual receive buffer size.
func receiveBuffer(conn *net.UDPConn) int {
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0
	}
	size := 0
	_ = rc.Control(func(fd uintptr) {
		size, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	return size
}

// dispatcher spreads datagrams over worker queues by source address, so
// one exporter's datagrams stay in order on one worker.
type dispatcher struct {
	seed   maphash.Seed
	queues []chan datagram
	onDrop func(d datagram)
}

func newDispatcher(workers, queue int, onDrop func(datagram)) *dispatcher {
	d := &dispatcher{seed: maphash.MakeSeed(), onDrop: onDrop}
	for range workers {
		d.queues = append(d.queues, make(chan datagram, queue))
	}
	return d
}

// dispatch queues a datagram without blocking; a full queue drops it.
func (d *dispatcher) dispatch(dg datagram) {
	a := dg.src.Addr().As16()
	i := maphash.Bytes(d.seed, a[:]) % uint64(len(d.queues))
	select {
	case d.queues[i] <- dg:
	default:
		d.onDrop(dg)
	}
}

// readLoop reads datagrams until the socket is closed. Each queued payload
// is copied to its own size, so full queues hold what was received (about
// 1 KiB a datagram), not a 64 KiB read buffer each.
func readLoop(conn *net.UDPConn, from listener, d *dispatcher, onErr func(error)) {
	buf := make([]byte, maxDatagram)
	for {
		n, src, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			onErr(err)
			continue
		}
		d.dispatch(datagram{from: from, src: netip.AddrPortFrom(src.Addr().Unmap(), src.Port()), t: time.Now(),
			payload: append([]byte(nil), buf[:n]...)})
	}
}
