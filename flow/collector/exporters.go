package collector

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ixpd/ixpd/flow"
)

// ExporterStats is what the collector knows of one exporter.
type ExporterStats struct {
	Address      netip.Addr `json:"address"`
	Protocol     string     `json:"protocol"`
	Role         string     `json:"role"`
	Configured   bool       `json:"configured"`
	SamplingRate uint32     `json:"sampling_rate"`
	LastSeen     time.Time  `json:"last_seen"`
	Datagrams    uint64     `json:"datagrams"`
	Flows        uint64     `json:"flows"`
	Errors       uint64     `json:"errors"`
}

// exporterTable tracks every exporter seen; workers update it.
type exporterTable struct {
	mu   sync.RWMutex
	byIP map[netip.Addr]*exporterEntry
	cfg  map[netip.Addr]ExporterConfig
}

type exporterEntry struct {
	protocol     atomic.Uint32
	samplingRate atomic.Uint32
	lastSeen     atomic.Int64
	datagrams    atomic.Uint64
	flows        atomic.Uint64
	errors       atomic.Uint64
}

func newExporterTable(cfg []ExporterConfig) *exporterTable {
	t := &exporterTable{byIP: map[netip.Addr]*exporterEntry{}, cfg: map[netip.Addr]ExporterConfig{}}
	for _, e := range cfg {
		t.cfg[e.Address] = e
	}
	return t
}

func (t *exporterTable) entry(addr netip.Addr) *exporterEntry {
	t.mu.RLock()
	e := t.byIP[addr]
	t.mu.RUnlock()
	if e != nil {
		return e
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if e = t.byIP[addr]; e == nil {
		e = &exporterEntry{}
		t.byIP[addr] = e
	}
	return e
}

// seen records one datagram's outcome.
func (t *exporterTable) seen(addr netip.Addr, at time.Time, flows []flow.Flow, failed bool) {
	e := t.entry(addr)
	e.datagrams.Add(1)
	e.lastSeen.Store(at.UnixNano())
	if failed {
		e.errors.Add(1)
	}
	if len(flows) > 0 {
		e.flows.Add(uint64(len(flows)))
		e.protocol.Store(uint32(flows[0].Protocol))
		e.samplingRate.Store(flows[0].SamplingRate)
	}
}

// list returns every exporter seen, by address.
func (t *exporterTable) list() []ExporterStats {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]ExporterStats, 0, len(t.byIP))
	for addr, e := range t.byIP {
		c, configured := t.cfg[addr]
		role := "unknown"
		if configured {
			role = c.Role
		}
		s := ExporterStats{Address: addr, Protocol: flow.Protocol(e.protocol.Load()).String(), Role: role,
			Configured: configured, SamplingRate: e.samplingRate.Load(), Datagrams: e.datagrams.Load(),
			Flows: e.flows.Load(), Errors: e.errors.Load()}
		if ns := e.lastSeen.Load(); ns != 0 {
			s.LastSeen = time.Unix(0, ns).UTC()
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b ExporterStats) int { return a.Address.Compare(b.Address) })
	return out
}
