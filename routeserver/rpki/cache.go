package rpki

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"
)

// maxHistory is how many past serials the cache can serve a Serial Query
// from with a delta when the connection does not know better (see
// serialResponse).
const maxHistory = 16

// minHistoryBudget is how many VRPs the kept deltas may hold in all when the
// set is smaller than that; otherwise the budget is the size of the set,
// since a larger delta costs more than a full reload.
const minHistoryBudget = 4096

// Cache is an RTR cache server (RFC 6810 version 0 and RFC 8210 version 1)
// that serves the set of VRPs given to Set to every router that connects.
//
// It answers Reset Queries with the whole set and Serial Queries with what
// changed, keeps the deltas of the last 16 serials, and sends every router
// a Serial Notify when the set changes. Before the first Set it answers
// queries with a No Data Available error report. Each router is served by
// its own goroutines with a bounded queue, so that one that does not read
// never holds up Set or the other routers: it is dropped when a write makes
// no progress for 30 seconds or when more than 64 answers wait for it.
type Cache struct {
	logger    *slog.Logger
	sessionID uint16

	// setMu serializes Set, so that it can diff against vrps without mu.
	setMu sync.Mutex

	mu        sync.Mutex // guards everything below
	ready     bool       // Set was called: there is data to serve
	serial    uint32
	vrps      []VRP   // the current set, sorted; never modified, only replaced
	history   []delta // oldest first, consecutive serials ending at serial
	clients   map[*client]struct{}
	listeners map[net.Listener]struct{}
	closed    bool
	wg        sync.WaitGroup // client goroutines

	writeTimeout time.Duration
}

// delta is what changed from serial-1 to serial. Both lists are sorted and
// never modified.
type delta struct {
	serial             uint32
	announce, withdraw []VRP
}

// NewCache returns a cache with a random session ID and no data. It logs
// client connections at debug and protocol errors at warn level to logger.
func NewCache(logger *slog.Logger) *Cache {
	return &Cache{
		logger:    logger,
		sessionID: uint16(rand.Uint32()),
		clients:   map[*client]struct{}{},
		listeners: map[net.Listener]struct{}{},

		writeTimeout: defaultWriteTimeout,
	}
}

// Serve accepts routers on ln until Close, and returns nil then (also when
// Close came first, in which case it closes ln at once). It returns the
// listener's error if accepting fails otherwise. Serve may run on several
// listeners at once.
func (c *Cache) Serve(ln net.Listener) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	c.listeners[ln] = struct{}{}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.listeners, ln)
		c.mu.Unlock()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			c.mu.Lock()
			closed := c.closed
			c.mu.Unlock()
			if closed {
				return nil
			}
			return fmt.Errorf("accept RTR client: %w", err)
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			_ = conn.Close()
			return nil
		}
		cl := newClient(c, conn)
		c.clients[cl] = struct{}{}
		c.wg.Go(cl.serve)
		c.mu.Unlock()
	}
}

// Close stops every Serve, closes every client connection and waits for
// their goroutines to end. It returns the errors of closing the listeners.
func (c *Cache) Close() error {
	c.mu.Lock()
	c.closed = true
	var errs []error
	for ln := range c.listeners {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	for cl := range c.clients {
		cl.stop()
	}
	c.mu.Unlock()
	c.wg.Wait()
	return errors.Join(errs...)
}

// Set replaces the whole set of VRPs and returns the new serial number and
// how many VRPs were added and removed. When the set changed, or on the
// first call, the serial is incremented (it wraps around, RFC 1982) and
// every router that has sent a query is sent a Serial Notify (a single one
// for changes that come faster than it is written). Duplicates are
// ignored, and so are VRPs that ParseVRPs would not return (a prefix with
// host bits set, a maximum length out of range), which are logged. Set is
// quickest with VRPs sorted as ParseVRPs returns them. vrps is not modified
// or kept.
func (c *Cache) Set(vrps []VRP) (serial uint32, added, removed int) {
	next := make([]VRP, 0, len(vrps))
	var invalid []VRP
	for _, v := range vrps {
		if v.valid() {
			next = append(next, v)
		} else {
			invalid = append(invalid, v)
		}
	}
	if len(invalid) > 0 {
		c.logger.Warn("ignoring invalid VRPs", "count", len(invalid), "first", invalid[0].String())
	}
	next = slices.Clip(sortVRPs(next))

	c.setMu.Lock()
	defer c.setMu.Unlock()
	announce, withdraw := diffVRPs(c.vrps, next) // only Set writes c.vrps

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ready && len(announce) == 0 && len(withdraw) == 0 {
		return c.serial, 0, 0
	}
	c.serial++
	if c.ready {
		c.history = append(c.history, delta{serial: c.serial, announce: announce, withdraw: withdraw})
	}
	c.vrps = next
	c.ready = true
	c.trimHistory()
	for cl := range c.clients {
		if cl.version >= 0 && !cl.notifyQueued {
			cl.notifyQueued = true
			cl.enqueue(job{kind: jobNotify, version: uint8(cl.version)})
		}
	}
	return c.serial, len(announce), len(withdraw)
}

// trimHistory drops the oldest deltas beyond maxHistory or beyond the
// budget of VRPs. c.mu is held.
func (c *Cache) trimHistory() {
	budget := max(len(c.vrps), minHistoryBudget)
	size := 0
	for _, d := range c.history {
		size += len(d.announce) + len(d.withdraw)
	}
	drop := 0
	for drop < len(c.history) && (len(c.history)-drop > maxHistory || size > budget) {
		size -= len(c.history[drop].announce) + len(c.history[drop].withdraw)
		drop++
	}
	if drop > 0 {
		c.history = slices.Delete(c.history, 0, drop)
	}
}

// Serial returns the current serial number; 0 before the first Set.
func (c *Cache) Serial() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.serial
}

// Len returns the number of VRPs in the current set.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.vrps)
}

// resetResponse returns the answer to a Reset Query from cl. c.mu is held.
func (c *Cache) resetResponse(cl *client) job {
	if !c.ready {
		return job{kind: jobError, code: errNoDataAvailable, text: "no VRPs loaded yet"}
	}
	cl.synced, cl.serial, cl.snapshot = true, c.serial, c.vrps
	return job{kind: jobData, serial: c.serial, announce: c.vrps}
}

// serialResponse returns the answer to a Serial Query from cl. c.mu is held.
//
// Once the cache has answered a query on a connection, it knows what the
// router holds when it reads the next answer, since routers apply PDUs in
// order: it sends the changes since its own last End of Data on that
// connection, from the history or else by comparing that snapshot with the
// current set, whatever session ID and serial the query names. Such a connection never
// gets a Cache Reset, which matters for GoBGP: it answers a Cache Reset
// with a Reset Query but keeps the ROAs that the new full set no longer
// has, as long as the session ID is the same. The serial in GoBGP's queries
// also lags: it sends one for every Serial Notify, with the serial of the
// last End of Data it has processed, so notifies that cross an answer give
// several queries for the same old serial.
//
// A new connection is answered from the query's session ID and serial: a
// delta from the history, or a Cache Reset.
func (c *Cache) serialResponse(cl *client, session uint16, serial uint32) job {
	if !c.ready {
		return job{kind: jobError, code: errNoDataAvailable, text: "no VRPs loaded yet"}
	}
	if !cl.synced {
		if session != c.sessionID {
			return job{kind: jobCacheReset}
		}
		announce, withdraw, ok := c.since(serial)
		if !ok {
			return job{kind: jobCacheReset}
		}
		cl.synced, cl.serial, cl.snapshot = true, c.serial, c.vrps
		return job{kind: jobData, serial: c.serial, announce: announce, withdraw: withdraw}
	}
	announce, withdraw, ok := c.since(cl.serial)
	if !ok {
		announce, withdraw = diffVRPs(cl.snapshot, c.vrps)
	}
	cl.serial, cl.snapshot = c.serial, c.vrps
	return job{kind: jobData, serial: c.serial, announce: announce, withdraw: withdraw}
}

// since returns the changes from serial to the current serial, merged so
// that each VRP appears at most once, from the history. It reports false
// when the history does not go back to serial. c.mu is held.
func (c *Cache) since(serial uint32) (announce, withdraw []VRP, ok bool) {
	if serial == c.serial {
		return nil, nil, true
	}
	i := slices.IndexFunc(c.history, func(d delta) bool { return d.serial == serial+1 })
	if i < 0 {
		return nil, nil, false
	}
	deltas := c.history[i:]
	if len(deltas) == 1 {
		return deltas[0].announce, deltas[0].withdraw, true
	}
	// +1: announced since serial; -1: withdrawn since serial.
	net := map[VRP]int8{}
	for _, d := range deltas {
		for _, v := range d.withdraw {
			if net[v] > 0 {
				delete(net, v)
			} else {
				net[v] = -1
			}
		}
		for _, v := range d.announce {
			if net[v] < 0 {
				delete(net, v)
			} else {
				net[v] = 1
			}
		}
	}
	for v, n := range net {
		if n > 0 {
			announce = append(announce, v)
		} else {
			withdraw = append(withdraw, v)
		}
	}
	slices.SortFunc(announce, compareVRP)
	slices.SortFunc(withdraw, compareVRP)
	return announce, withdraw, true
}
