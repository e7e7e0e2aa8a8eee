package members

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// labLANs are the peering LANs of the fixtures under testdata/.
var labLANs = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("fd00:ffff::/64"),
}

// sharedIXF returns the folder of shared IX-F samples (../shared/data/ixf beside the repository; go test
// runs in the package folder). When it is missing the test is skipped, or fails when CI is set.
func sharedIXF(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "data", "ixf")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("shared IX-F samples not available: %v", err)
		}
		t.Fatalf("shared IX-F samples not available: %v", err)
	}
	return dir
}

// officialSchema returns the path of the official IX-F Member Export 1.0 schema in the shared folder.
func officialSchema(t *testing.T) string {
	t.Helper()
	return filepath.Join(sharedIXF(t), "euro-ix-json-schemas", "ixp-member-list.schema.json")
}
