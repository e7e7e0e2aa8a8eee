package rpki

import (
	"bytes"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/osrg/gobgp/v4/pkg/packet/rtr"
)

func newTestCache() *Cache { return NewCache(slog.New(slog.DiscardHandler)) }

// randomSet returns a random subset of the sorted pool, sorted.
func randomSet(r *rand.Rand, pool []VRP) []VRP {
	var set []VRP
	for _, v := range pool {
		if r.IntN(3) == 0 {
			set = append(set, v)
		}
	}
	return set
}

// testPool returns n distinct VRPs, sorted.
func testPool(n int) []VRP {
	pool := make([]VRP, n)
	for i := range pool {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 10), byte(i >> 2), 0})
		pool[i] = VRP{Prefix: netip.PrefixFrom(a, 24), MaxLength: uint8(24 + i%4), ASN: 64500}
	}
	return sortVRPs(pool)
}

// TestSinceIsMinimalAndCorrect checks the merged delta from every serial in
// the history against the sets themselves.
func TestSinceIsMinimalAndCorrect(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pool := testPool(64)
	c := newTestCache()
	sets := map[uint32][]VRP{}
	for range 40 {
		set := randomSet(r, pool)
		serial, _, _ := c.Set(set)
		sets[serial] = set
		if len(c.history) > maxHistory {
			t.Fatalf("history of %d deltas", len(c.history))
		}
		for from := range sets {
			announce, withdraw, ok := c.since(from)
			inHistory := from == c.serial || slices.ContainsFunc(c.history, func(d delta) bool { return d.serial == from+1 })
			if ok != inHistory {
				t.Fatalf("since(%d) at serial %d: ok %v, history %v", from, c.serial, ok, inHistory)
			}
			if !ok {
				continue
			}
			wantAnnounce, wantWithdraw := diffVRPs(sets[from], set)
			if !slices.Equal(announce, wantAnnounce) || !slices.Equal(withdraw, wantWithdraw) {
				t.Fatalf("since(%d) at serial %d:\nannounce %v\nwant     %v\nwithdraw %v\nwant     %v",
					from, c.serial, announce, wantAnnounce, withdraw, wantWithdraw)
			}
		}
	}
}

func TestSerialWrapsAround(t *testing.T) {
	pool := testPool(8)
	c := newTestCache()
	c.Set(pool[:4])
	c.serial = math.MaxUint32 - 1 // as if after 2^32-2 changes
	c.history = nil
	for i, want := range []uint32{math.MaxUint32, 0, 1} {
		if serial, _, _ := c.Set(pool[i+1 : i+5]); serial != want {
			t.Fatalf("serial %d, want %d", serial, want)
		}
	}
	announce, withdraw, ok := c.since(math.MaxUint32 - 1)
	if !ok || !slices.Equal(announce, pool[4:7]) || !slices.Equal(withdraw, pool[:3]) {
		t.Errorf("since(2^32-2) = %v, %v, %v", announce, withdraw, ok)
	}
}

// TestHistoryBudget checks that large deltas are not kept: they would cost
// more memory than a full answer.
func TestHistoryBudget(t *testing.T) {
	pool := testPool(4 * minHistoryBudget)
	c := newTestCache()
	c.Set(pool[:minHistoryBudget])
	c.Set(pool[minHistoryBudget-1 : 2*minHistoryBudget]) // 2*4095 changes
	if len(c.history) != 0 {
		t.Errorf("kept a delta of %d VRPs for a set of %d", len(c.history[0].announce)+len(c.history[0].withdraw), c.Len())
	}
	c.Set(pool[minHistoryBudget : 2*minHistoryBudget]) // 1 change
	if len(c.history) != 1 {
		t.Errorf("%d deltas kept, want 1", len(c.history))
	}
}

func TestSetIgnoresInvalidVRPs(t *testing.T) {
	c := newTestCache()
	good := VRP{Prefix: netip.MustParsePrefix("10.0.0.0/8"), MaxLength: 24, ASN: 1}
	_, added, _ := c.Set([]VRP{
		good,
		{Prefix: netip.MustParsePrefix("10.0.0.1/8"), MaxLength: 24, ASN: 1},
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), MaxLength: 7, ASN: 1},
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), MaxLength: 33, ASN: 1},
		{MaxLength: 24, ASN: 1},
	})
	if added != 1 || !slices.Equal(c.vrps, []VRP{good}) {
		t.Errorf("Set() added %d: %v", added, c.vrps)
	}
}

// TestEncodingMatchesGoBGP compares the PDU encoders with GoBGP's codec.
func TestEncodingMatchesGoBGP(t *testing.T) {
	v4 := VRP{Prefix: netip.MustParsePrefix("192.0.2.0/24"), MaxLength: 25, ASN: 4200000000}
	v6 := VRP{Prefix: netip.MustParsePrefix("2001:db8::/32"), MaxLength: 48, ASN: 64511}
	serialize := func(m rtr.RTRMessage) []byte {
		b, err := m.Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name      string
		got, want []byte
	}{
		{"Serial Notify", appendSerialNotify(nil, 0, 0x1234, 77), serialize(rtr.NewRTRSerialNotify(0x1234, 77))},
		{"Cache Response", appendCacheResponse(nil, 0, 0x1234), serialize(rtr.NewRTRCacheResponse(0x1234))},
		{"IPv4 Prefix", appendPrefix(nil, 0, flagAnnounce, v4),
			serialize(rtr.NewRTRIPPrefix(v4.Prefix.Addr(), 24, 25, 4200000000, rtr.ANNOUNCEMENT))},
		{"IPv6 Prefix", appendPrefix(nil, 0, flagWithdraw, v6),
			serialize(rtr.NewRTRIPPrefix(v6.Prefix.Addr(), 32, 48, 64511, rtr.WITHDRAWAL))},
		{"End of Data", appendEndOfData(nil, 0, 0x1234, 77), serialize(rtr.NewRTREndOfData(0x1234, 77))},
		{"Cache Reset", appendCacheReset(nil, 0), serialize(rtr.NewRTRCacheReset())},
		{"Error Report", appendErrorReport(nil, 0, errNoDataAvailable, []byte{0, 2, 0, 0, 0, 0, 0, 8}, "no data"),
			serialize(rtr.NewRTRErrorReport(rtr.NO_DATA_AVAILABLE, []byte{0, 2, 0, 0, 0, 0, 0, 8}, []byte("no data")))},
	}
	for _, tt := range tests {
		if !bytes.Equal(tt.got, tt.want) {
			t.Errorf("%s:\n got % x\nwant % x", tt.name, tt.got, tt.want)
		}
	}

	eod := appendEndOfData(nil, 1, 0x1234, 77)
	want := []byte{1, 7, 0x12, 0x34, 0, 0, 0, 24, 0, 0, 0, 77, 0, 0, 0x0e, 0x10, 0, 0, 0x02, 0x58, 0, 0, 0x1c, 0x20}
	if !bytes.Equal(eod, want) {
		t.Errorf("version 1 End of Data:\n got % x\nwant % x", eod, want)
	}
	if long := appendErrorReport(nil, 1, errCorruptData, make([]byte, 1000), "x"); len(long) != errorReportBase+maxEncapsulated+1 {
		t.Errorf("Error Report with a long PDU is %d octets", len(long))
	}
}

func TestCodesMatchGoBGP(t *testing.T) {
	types := map[pduType]int{
		pduSerialNotify: rtr.RTR_SERIAL_NOTIFY, pduSerialQuery: rtr.RTR_SERIAL_QUERY, pduResetQuery: rtr.RTR_RESET_QUERY,
		pduCacheResponse: rtr.RTR_CACHE_RESPONSE, pduIPv4Prefix: rtr.RTR_IPV4_PREFIX, pduIPv6Prefix: rtr.RTR_IPV6_PREFIX,
		pduEndOfData: rtr.RTR_END_OF_DATA, pduCacheReset: rtr.RTR_CACHE_RESET, pduErrorReport: rtr.RTR_ERROR_REPORT,
	}
	for ours, theirs := range types {
		if int(ours) != theirs {
			t.Errorf("%s is %d, GoBGP has %d", ours, ours, theirs)
		}
	}
	codes := map[errorCode]uint16{
		errCorruptData: rtr.CORRUPT_DATA, errInternal: rtr.INTERNAL_ERROR, errNoDataAvailable: rtr.NO_DATA_AVAILABLE,
		errInvalidRequest: rtr.INVALID_REQUEST, errUnsupportedVersion: rtr.UNSUPPORTED_PROTOCOL_VERSION,
		errUnsupportedPDU: rtr.UNSUPPORTED_PDU_TYPE,
	}
	for ours, theirs := range codes {
		if uint16(ours) != theirs {
			t.Errorf("%s is %d, GoBGP has %d", ours, ours, theirs)
		}
	}
}

func TestDiffVRPs(t *testing.T) {
	pool := testPool(10)
	announce, withdraw := diffVRPs(pool[:6], slices.Concat(pool[2:4], pool[5:9]))
	if !slices.Equal(announce, pool[6:9]) || !slices.Equal(withdraw, []VRP{pool[0], pool[1], pool[4]}) {
		t.Errorf("diffVRPs() = %v, %v", announce, withdraw)
	}
	if got := (VRP{Prefix: netip.MustParsePrefix("2001:db8::/32"), MaxLength: 48, ASN: 64511}).String(); got != "2001:db8::/32-48 AS64511" {
		t.Errorf("String() = %q", got)
	}
}
