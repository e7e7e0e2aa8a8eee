// Package peeringdb reads PeeringDB data that operators saved to local files; ixpd does not query
// PeeringDB itself.
//
// The route server uses one PeeringDB fact: the networks that ask, with the "Never via route
// servers" flag (info_never_via_route_servers), that their routes not be taken from route servers.
// The file is a response of the PeeringDB API for the net object, either for the ASNs of interest
// or for the whole table:
//
//	curl -sf 'https://www.peeringdb.com/api/net?asn__in=3333,10745' > peeringdb-net.json
//	curl -sf 'https://www.peeringdb.com/api/net' > peeringdb-net.json
//
// Both have the shape {"data": [{"asn": 3333, "info_never_via_route_servers": false, ...}, ...],
// "meta": {}}. A ?fields= list, if used, must keep asn and info_never_via_route_servers.
package peeringdb
