package routeserver

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReasonsFromLargeCommunities(t *testing.T) {
	got := reasonsFromLargeCommunities(64512, []string{"64512:1101:8", "64512:1000:1", "65000:1101:3", "64512:1101:3", "64512:1101:999", "64512:1101:x"})
	want := []Reason{{Code: 3, Name: "Prefix is a bogon"}, {Code: 8, Name: "Next hop is not an address of the peer"}, {Code: 999, Name: "Unknown reason"}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("reasons (-got +want):\n%s", diff)
	}
	if n := len(Reasons()); n != 18 {
		t.Errorf("%d reasons, want the 15 Euro-IX codes and ixpd's 16-18", n)
	}
}
