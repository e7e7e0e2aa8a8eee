// Package speaker is a light BGP speaker for simulated exchange members in
// benchmarks and tests.
//
// A Session holds one BGP session: it sends an OPEN with the 4-octet-AS and
// multiprotocol capabilities, completes the handshake, sends keepalives and
// reads the peer's messages in its own goroutine. It keeps no RIB and runs
// no best-path selection: it sends pre-encoded UPDATE messages as they are
// (see EncodeUpdates) and hands each received UPDATE to a callback as the
// prefixes it announces and withdraws, decoded straight from the read
// buffer without allocating per prefix. Path attributes are decoded only
// when the callback asks for them (RawAttributes.Decode).
//
// Messages are built and, where it is not on the hot path, parsed with
// GoBGP's codec (github.com/osrg/gobgp/v4/pkg/packet/bgp); no GoBGP server
// runs here.
package speaker
