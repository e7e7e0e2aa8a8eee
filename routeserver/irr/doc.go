// Package irr loads the IRR data that the route server filters members' routes with: the prefixes and
// the AS numbers behind each member's AS-SET, as produced ahead of time by bgpq4 in its JSON format.
// ixpd never queries an IRR itself; it reads local files at start and on reload.
//
// # Making the files
//
// Prefix lists, one per address family, named with -l (the name becomes the JSON key; without -l
// bgpq4 names the list "NN"):
//
//	bgpq4 -4 -j -A -l AS-FOO AS-FOO > AS-FOO.v4.json
//	bgpq4 -6 -j -A -l AS-FOO AS-FOO > AS-FOO.v6.json
//
// which give
//
//	{ "AS-FOO": [
//	    { "prefix": "192.0.2.0\/24", "exact": true },
//	    { "prefix": "198.51.100.0\/22", "exact": false,
//	      "greater-equal": 23, "less-equal": 24 },
//	    { "prefix": "203.0.113.0\/24", "exact": false, "less-equal": 25 }
//	] }
//
// AS lists (the origin ASNs an AS-SET expands to) come from -t:
//
//	bgpq4 -j -t -l AS-FOO AS-FOO > AS-FOO.asn.json
//
// which gives {"AS-FOO": [ 64496,64497 ]}. Prefix files and AS files are given to Load separately.
//
// # What is accepted
//
// A file holds one JSON object or several one after another, so the outputs of several bgpq4 runs
// may simply be concatenated ({ bgpq4 -4 ...; bgpq4 -6 ...; } > AS-FOO.json). Each object maps list
// names to lists. A name found more than once, in one file or in several, gets the union of its
// lists. Names are matched without regard to case. A prefix list may mix IPv4 and IPv6 prefixes.
//
// A prefix entry needs "prefix" (a prefix without host bits) and "exact". With "exact": true the
// entry matches the prefix alone, and "greater-equal" and "less-equal" must be absent. With "exact":
// false at least one of them must be given: bgpq4 writes both, or "less-equal" alone, meaning from
// the prefix's own length; "greater-equal" alone means up to /32 or /128. Other members of an entry
// are ignored, so that a later bgpq4 may add some.
//
// A file with any fault is refused as a whole, with errors that name the file, the line and column,
// and the place in the JSON (AS-FOO[3].less-equal), so that the caller can keep the data it has.
package irr
