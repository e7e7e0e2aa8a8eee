package enrich

import "github.com/ixpd/ixpd/flow"

// pathClass classifies a member-edge flow by the roles of its input and output interfaces. The
// outside interface decides: a flow in or out of an ixp interface is via_ixp (even when the other
// interface is transit: the member carried it across the exchange), else one in or out of a transit
// interface is via_transit. A flow between two customer interfaces is internal. Any other flow (an
// interface not configured and no ixp or transit interface on the other side) is PathUnknown.
func pathClass(in, out InterfaceRole) flow.PathClass {
	switch {
	case in == IfIXP || out == IfIXP:
		return flow.PathViaIXP
	case in == IfTransit || out == IfTransit:
		return flow.PathViaTransit
	case in == IfCustomer && out == IfCustomer:
		return flow.PathInternal
	}
	return flow.PathUnknown
}

// outside reports whether an interface leads out of the member's network.
func outside(r InterfaceRole) bool {
	return r == IfIXP || r == IfTransit
}

// edgeMembers returns which ends of a member-edge flow are the exporter's member, by direction: a
// flow that enters from outside (ixp or transit) and leaves by any other interface is inbound and
// its destination is the member; one that leaves to the outside from any other interface is
// outbound and its source is the member; between two customer interfaces both ends are. A flow
// between two outside interfaces (transit across the member) or with no outside interface and an
// unconfigured one has neither end attributed.
func edgeMembers(in, out InterfaceRole, asn uint32) (src, dst uint32) {
	switch {
	case outside(in) && !outside(out):
		return 0, asn
	case !outside(in) && outside(out):
		return asn, 0
	case in == IfCustomer && out == IfCustomer:
		return asn, asn
	}
	return 0, 0
}
