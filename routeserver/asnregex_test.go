package routeserver

import (
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// gobgpBoundary is what GoBGP substitutes for "_" in AS-path expressions.
const gobgpBoundary = "(^|[,{}() ]|$)"

func inRanges(asn uint64, rs []asnRange) bool {
	for _, r := range rs {
		if asn >= uint64(r.lo) && asn <= uint64(r.hi) {
			return true
		}
	}
	return false
}

func TestNumberRangePatterns(t *testing.T) {
	tests := []struct{ lo, hi uint64 }{
		{0, 0}, {7, 7}, {5, 12}, {64496, 64511}, {64512, 65534}, {65536, 131071},
		{4200000000, 4294967294}, {99, 1000}, {1, 4294967295},
	}
	for _, tt := range tests {
		re := regexp.MustCompile("^(" + strings.Join(numberRangePatterns(tt.lo, tt.hi), "|") + ")$")
		check := func(n uint64) {
			if got, want := re.MatchString(strconv.FormatUint(n, 10)), n >= tt.lo && n <= tt.hi; got != want {
				t.Errorf("%d..%d: %d matched %v, want %v", tt.lo, tt.hi, n, got, want)
			}
		}
		for _, n := range []uint64{tt.lo, tt.hi, tt.lo + 1, tt.hi + 1, tt.lo - 1, tt.hi - 1, 0, 4294967295} {
			check(n)
		}
		r := rand.New(rand.NewPCG(tt.lo, tt.hi))
		for range 2000 {
			check(r.Uint64N(4294967296))
			if span := tt.hi - tt.lo + 1; span > 0 {
				check(tt.lo + r.Uint64N(span))
			}
		}
	}
}

func TestBogonASNRegexp(t *testing.T) {
	re := regexp.MustCompile(strings.ReplaceAll(asnRangesRegexp(bogonASNs), "_", gobgpBoundary))
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		asn := r.Uint64N(4294967296)
		if r.IntN(4) == 0 { // near the interesting ranges too
			asn = 64000 + r.Uint64N(70000)
		}
		path := "3356 " + strconv.FormatUint(asn, 10) + " 174"
		if got, want := re.MatchString(path), inRanges(asn, bogonASNs); got != want {
			t.Fatalf("path %q matched %v, want %v", path, got, want)
		}
	}
	for _, path := range []string{"64512", "38800 65535", "0", "38800 4200000000 174"} {
		if !re.MatchString(path) {
			t.Errorf("path %q not matched", path)
		}
	}
	for _, path := range []string{"38800", "38800 174 3356", "645120", "4294967296"} {
		if re.MatchString(path) {
			t.Errorf("path %q matched", path)
		}
	}
}
