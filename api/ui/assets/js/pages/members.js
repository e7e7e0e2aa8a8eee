// Members: the list from the public IX-F Member Export, or from the looking
// glass when the export is not served. Each links to the member's page.

import { get, token } from '../api.js';
import { h, append, kpi, kpis, table } from '../dom.js';
import { memberList } from '../names.js';
import { tokenPanel } from '../auth.js';

function fromIXF(list) {
  return list.map((m) => {
    const vlans = (m.connection_list || []).flatMap((c) => c.vlan_list || []);
    const addrs = vlans.flatMap((v) => [v.ipv4, v.ipv6]).filter(Boolean);
    return {
      asn: m.asnum,
      name: m.name || '',
      type: m.member_type || '',
      policy: m.peering_policy || '',
      addresses: addrs.map((a) => a.address),
      routeServer: addrs.some((a) => a.routeserver),
    };
  });
}

function fromNeighbors(ns) {
  const by = new Map();
  for (const n of ns) {
    const m = by.get(n.asn) || { asn: n.asn, name: n.description || '', type: '', policy: '', addresses: [], routeServer: true };
    m.addresses.push(n.address);
    by.set(n.asn, m);
  }
  return [...by.values()].sort((a, b) => a.asn - b.asn);
}

export default {
  title: 'Members',
  access: 'public',
  async render({ root, cfg, refresh }) {
    append(root, h('h1', null, 'Members'));
    let members;
    let source;
    let field;
    if (cfg.features.ixf) {
      source = '/ixf/participants.json';
      field = 'count(member_list[member_type!=ixp])';
      members = fromIXF(await memberList(cfg));
    } else if (cfg.features.route_server && (cfg.public_looking_glass || token())) {
      source = '/api/v1/routeserver/neighbors';
      field = 'count(distinct neighbors[].asn)';
      members = fromNeighbors((await get(source)).neighbors || []);
    } else {
      append(root, tokenPanel(cfg, refresh,
        'This ixpd does not serve the IX-F Member Export; the member list then comes from the looking glass, which needs a token.'));
      return;
    }
    const counted = members.filter((m) => m.type !== 'ixp');
    append(root, 
      h('p', { class: 'lead' }, source === '/ixf/participants.json' ? 'From the exchange\'s IX-F Member Export.' : 'From the route server\'s neighbors.'),
      kpis([kpi({ label: 'Members', text: String(counted.length), name: 'member_count', value: counted.length, source, field })]),
      table({
        caption: 'Members; a member\'s page shows its traffic, peers and sessions (with a token)',
        columns: [{ label: 'ASN', num: true }, { label: 'Name', rowHeader: false }, { label: 'Type' }, { label: 'Peering policy' },
          { label: 'Peering-LAN addresses' }, { label: 'Route server' }],
        rows: members.map((m) => [
          { text: h('a', { href: `#/member/${m.asn}`, 'data-member': m.asn }, `AS${m.asn}`), num: true },
          m.name,
          m.type,
          m.policy,
          h('span', { class: 'mono' }, m.addresses.join(', ')),
          m.routeServer ? 'yes' : 'no',
        ]),
        empty: 'No members.',
      }));
  },
};
