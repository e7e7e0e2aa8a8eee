// Member names by ASN, from the public IX-F Member Export when this ixpd
// serves it (asked once per session).

import { cached } from './api.js';
import { h } from './dom.js';

// memberList is the IX-F export's member list, or null when not served.
export async function memberList(cfg) {
  if (!cfg.features.ixf) return null;
  const ixf = await cached('/ixf/participants.json');
  return (ixf && ixf.member_list) || [];
}

// memberNames maps ASN to name; empty when the export is not served or
// fails (names are a nicety, the ASN is always shown).
export async function memberNames(cfg) {
  const names = new Map();
  try {
    for (const m of (await memberList(cfg)) || []) {
      if (m.name) names.set(m.asnum, m.name);
    }
  } catch {
    // no names
  }
  return names;
}

// asLabel is "AS64500 Name" as text.
export function asLabel(asn, names) {
  const n = names && names.get(asn);
  return n ? `AS${asn} ${n}` : `AS${asn}`;
}

// asLink links to a member's page.
export function asLink(asn, names) {
  return h('a', { href: `#/member/${asn}` }, asLabel(asn, names));
}
