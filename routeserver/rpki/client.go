package rpki

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

const (
	// queueLen bounds the answers waiting for a router; a router that
	// lets more pile up is dropped. Notifications take one place at most.
	queueLen = 64
	// defaultWriteTimeout is how long a write may make no progress before
	// the router is dropped.
	defaultWriteTimeout = 30 * time.Second
	// drainTimeout is how long the cache reads and discards after it sent
	// a fatal Error Report, waiting for the router to close, so that
	// closing does not reset the connection before the report is read.
	drainTimeout = 5 * time.Second
	// writeBuffer is the size of the buffer for PDUs to one router.
	writeBuffer = 64 << 10
)

// jobKind is what a job sends.
type jobKind uint8

const (
	// jobData is Cache Response, prefixes and End of Data.
	jobData jobKind = iota
	jobNotify
	jobCacheReset
	jobError
)

// job is one response or notification for a router, encoded by the
// router's writer goroutine. Its slices are shared and never modified.
type job struct {
	kind    jobKind
	version uint8
	serial  uint32
	// announce and withdraw are the prefixes of jobData.
	announce, withdraw []VRP
	// code, pdu and text are the Error Report of jobError.
	code errorCode
	pdu  []byte
	text string
	// fatal closes the connection after the job.
	fatal bool
}

// client is the connection with one router.
type client struct {
	cache *Cache
	conn  net.Conn
	addr  string
	queue chan job
	done  chan struct{} // closed by stop

	stopOnce sync.Once

	// Guarded by cache.mu. version is -1 until the router's first query
	// sets it. synced says that an End of Data for serial with the set
	// snapshot was queued on this connection. notifyQueued says that a
	// Serial Notify waits in the queue; it takes the serial that is
	// current when it is written.
	version      int
	synced       bool
	serial       uint32
	snapshot     []VRP
	notifyQueued bool
}

func newClient(c *Cache, conn net.Conn) *client {
	return &client{
		cache:   c,
		conn:    conn,
		addr:    conn.RemoteAddr().String(),
		queue:   make(chan job, queueLen),
		done:    make(chan struct{}),
		version: -1,
	}
}

// serve runs the connection until the router leaves, makes a fatal error,
// is dropped or the cache closes.
func (cl *client) serve() {
	logger := cl.cache.logger
	logger.Debug("RTR client connected", "rtr_client", cl.addr)
	var wg sync.WaitGroup
	wg.Go(cl.writeLoop)
	err := cl.readLoop()
	cl.stop()
	wg.Wait()
	cl.cache.mu.Lock()
	delete(cl.cache.clients, cl)
	cl.cache.mu.Unlock()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		logger.Debug("RTR client disconnected", "rtr_client", cl.addr, "err", err)
	} else {
		logger.Debug("RTR client disconnected", "rtr_client", cl.addr)
	}
}

// stop closes the connection; serve then ends.
func (cl *client) stop() {
	cl.stopOnce.Do(func() {
		close(cl.done)
		_ = cl.conn.Close()
	})
}

// enqueue queues j without blocking; a full queue drops the router.
// cache.mu is held, which keeps jobs in the order of the cache's changes.
func (cl *client) enqueue(j job) {
	select {
	case <-cl.done:
	case cl.queue <- j:
	default:
		cl.cache.logger.Warn("dropping RTR client that does not read its answers", "rtr_client", cl.addr, "queued", len(cl.queue))
		cl.stop()
	}
}

// readLoop reads and answers queries until the connection fails or the
// router makes a fatal error.
func (cl *client) readLoop() error {
	r := bufio.NewReader(cl.conn)
	for {
		p, err := readPDU(r)
		if err != nil {
			var perr *protocolError
			if errors.As(err, &perr) {
				// A bad length in a PDU of an unknown version is reported
				// as the version, which tells the router what to retry.
				cl.cache.mu.Lock()
				if verr := cl.versionError(p.version, perr.pdu); verr != nil {
					perr = verr
				}
				cl.cache.mu.Unlock()
				cl.fail(p.version, perr)
				return cl.drain(r)
			}
			return err
		}
		if p.typ == pduErrorReport {
			// The router reported an error: the session is over, and an
			// Error Report is never answered with another.
			cl.cache.logger.Warn("RTR client sent an error report", "rtr_client", cl.addr, "err", describeErrorReport(p))
			return nil
		}
		if perr := cl.handle(p); perr != nil {
			cl.fail(p.version, perr)
			return cl.drain(r)
		}
	}
}

// handle answers one PDU, or returns what is wrong with it.
func (cl *client) handle(p pdu) *protocolError {
	c := cl.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if perr := cl.versionError(p.version, p.raw); perr != nil {
		return perr
	}
	var j job
	switch p.typ {
	case pduResetQuery:
		if len(p.raw) != resetQueryLen {
			return &protocolError{code: errCorruptData, pdu: p.raw, msg: fmt.Sprintf("Reset Query with length %d", len(p.raw))}
		}
		cl.version = int(p.version)
		j = c.resetResponse(cl)
	case pduSerialQuery:
		if len(p.raw) != serialQueryLen {
			return &protocolError{code: errCorruptData, pdu: p.raw, msg: fmt.Sprintf("Serial Query with length %d", len(p.raw))}
		}
		cl.version = int(p.version)
		j = c.serialResponse(cl, p.field, p.serial())
	default:
		if p.typ.fromCache() {
			return &protocolError{code: errInvalidRequest, pdu: p.raw, msg: fmt.Sprintf("%s PDU from a router", p.typ)}
		}
		return &protocolError{code: errUnsupportedPDU, pdu: p.raw, msg: p.typ.String()}
	}
	j.version = p.version
	cl.enqueue(j)
	return nil
}

// versionError returns what is wrong with the version of a PDU, or nil.
// cache.mu is held.
func (cl *client) versionError(version uint8, raw []byte) *protocolError {
	switch {
	case cl.version < 0 && version > maxVersion:
		return &protocolError{code: errUnsupportedVersion, pdu: raw,
			msg: fmt.Sprintf("version %d, this cache speaks versions 0 and 1", version)}
	case cl.version >= 0 && int(version) != cl.version:
		code := errUnexpectedVersion
		if cl.version == version0 {
			code = errUnsupportedVersion // RFC 6810 has no code 8
		}
		return &protocolError{code: code, pdu: raw,
			msg: fmt.Sprintf("version %d in a session of version %d", version, cl.version)}
	}
	return nil
}

// fail reports perr to the router with an Error Report and has the writer
// close the connection after it. version is that of the PDU at fault.
func (cl *client) fail(version uint8, perr *protocolError) {
	c := cl.cache
	c.logger.Warn("RTR protocol error", "rtr_client", cl.addr, "err", perr)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case cl.version >= 0:
		version = uint8(cl.version)
	case version > maxVersion:
		version = maxVersion
	}
	cl.enqueue(job{kind: jobError, version: version, code: perr.code, pdu: perr.pdu, text: perr.msg, fatal: true})
}

// drain discards what the router sends until it closes the connection,
// for at most drainTimeout.
func (cl *client) drain(r *bufio.Reader) error {
	if err := cl.conn.SetReadDeadline(time.Now().Add(drainTimeout)); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, r)
	return err
}

// writeLoop encodes queued jobs until the connection fails or stop.
func (cl *client) writeLoop() {
	w := bufio.NewWriterSize(deadlineWriter{cl.conn, cl.cache.writeTimeout}, writeBuffer)
	for {
		select {
		case <-cl.done:
			return
		case j := <-cl.queue:
			if err := cl.write(w, &j); err != nil {
				select {
				case <-cl.done: // closed by the cache or the reader
				default:
					cl.cache.logger.Warn("dropping RTR client", "rtr_client", cl.addr, "err", err)
					cl.stop()
				}
				return
			}
			if j.fatal {
				// Send FIN after the report; readLoop closes when the
				// router does.
				if cw, ok := cl.conn.(interface{ CloseWrite() error }); ok {
					_ = cw.CloseWrite()
				}
				return
			}
		}
	}
}

// write encodes j and flushes.
func (cl *client) write(w *bufio.Writer, j *job) error {
	session := cl.cache.sessionID
	var err error
	switch j.kind {
	case jobData:
		_, err = w.Write(appendCacheResponse(w.AvailableBuffer(), j.version, session))
		for _, v := range j.withdraw {
			if err != nil {
				break
			}
			_, err = w.Write(appendPrefix(w.AvailableBuffer(), j.version, flagWithdraw, v))
		}
		for _, v := range j.announce {
			if err != nil {
				break
			}
			_, err = w.Write(appendPrefix(w.AvailableBuffer(), j.version, flagAnnounce, v))
		}
		if err == nil {
			_, err = w.Write(appendEndOfData(w.AvailableBuffer(), j.version, session, j.serial))
		}
	case jobNotify:
		cl.cache.mu.Lock()
		serial := cl.cache.serial
		cl.notifyQueued = false
		cl.cache.mu.Unlock()
		_, err = w.Write(appendSerialNotify(w.AvailableBuffer(), j.version, session, serial))
	case jobCacheReset:
		_, err = w.Write(appendCacheReset(w.AvailableBuffer(), j.version))
	case jobError:
		_, err = w.Write(appendErrorReport(w.AvailableBuffer(), j.version, j.code, j.pdu, j.text))
	}
	if err != nil {
		return err
	}
	return w.Flush()
}

// deadlineWriter fails a write that makes no progress for timeout: each
// write gets a fresh deadline.
type deadlineWriter struct {
	conn    net.Conn
	timeout time.Duration
}

// Write writes p with a deadline.
func (d deadlineWriter) Write(p []byte) (int, error) {
	if err := d.conn.SetWriteDeadline(time.Now().Add(d.timeout)); err != nil {
		return 0, err
	}
	return d.conn.Write(p)
}

// describeErrorReport returns the code and text of an Error Report from a
// router, for the log.
func describeErrorReport(p pdu) string {
	text := ""
	if len(p.raw) >= errorReportBase {
		off := 12 + uint64(binary.BigEndian.Uint32(p.raw[8:12])) // after the copy of the PDU
		if off+4 <= uint64(len(p.raw)) {
			end := off + 4 + uint64(binary.BigEndian.Uint32(p.raw[off:off+4]))
			if end <= uint64(len(p.raw)) {
				text = string(p.raw[off+4 : end])
			}
		}
	}
	return fmt.Sprintf("%s: %q", errorCode(p.field), text)
}
