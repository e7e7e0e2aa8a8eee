// Domestic traffic and local share: of the domestic traffic that members'
// edge exporters see, the part that crosses the exchange rather than
// international transit. Member-level: needs a token.

import { get, url } from '../api.js';
import { h, append, kpi, kpis, table, switcher, figureAttrs } from '../dom.js';
import { PERIODS, periodRange, pickPeriod, periodText, fmtBytes, fmtPct, fmtInt } from '../format.js';
import { chartFigure } from '../chart.js';
import { memberNames, asLabel, asLink } from '../names.js';

export default {
  title: 'Domestic traffic',
  access: 'token',
  feature: 'traffic',
  async render({ root, cfg, params }) {
    const period = pickPeriod(params, ['day', 'week', 'month'], 'month');
    const r = periodRange(period);
    const source = url('/api/v1/domestic', { from: r.from, to: r.to });
    const [body, names] = await Promise.all([get(source), memberNames(cfg)]);
    const o = body.overall || {};
    const members = body.members || [];
    append(root, 
      h('h1', null, 'Domestic traffic and local share'),
      h('p', { class: 'lead' }, 'Of the domestic traffic seen by members\' edge exporters, the share that went across the exchange instead of international transit.'),
      switcher('Period', ['day', 'week', 'month'].map((id) => ({ id, label: PERIODS[id].label, href: `#/domestic?period=${id}` })), period),
      kpis([
        kpi({ label: 'Local share', text: fmtPct(o.local_share), name: 'local_share', value: o.local_share, source, field: 'overall.local_share' }),
        kpi({ label: 'Domestic via the exchange', text: fmtBytes(o.via_ixp_bytes), name: 'via_ixp_bytes', value: o.via_ixp_bytes, source, field: 'overall.via_ixp_bytes' }),
        kpi({ label: 'Domestic via transit', text: fmtBytes(o.via_transit_bytes), name: 'via_transit_bytes', value: o.via_transit_bytes, source, field: 'overall.via_transit_bytes' }),
      ]),
      o.note ? h('p', { class: 'note' }, o.note) : null);

    const withShare = members.filter((m) => m.local_share !== null && m.local_share !== undefined);
    const rows = members.map((m) => [
      asLink(m.asn, names),
      { text: fmtBytes(m.via_ixp_bytes), num: true, attrs: figureAttrs({ name: 'member_via_ixp_bytes', value: m.via_ixp_bytes, source, field: `members[asn=${m.asn}].via_ixp_bytes`, key: m.asn }) },
      { text: fmtBytes(m.via_transit_bytes), num: true, attrs: figureAttrs({ name: 'member_via_transit_bytes', value: m.via_transit_bytes, source, field: `members[asn=${m.asn}].via_transit_bytes`, key: m.asn }) },
      { text: fmtPct(m.local_share), num: true, attrs: figureAttrs({ name: 'member_local_share', value: m.local_share, source, field: `members[asn=${m.asn}].local_share`, key: m.asn }) },
      m.note || '',
    ]);
    const tbl = table({
      caption: `Domestic bytes and local share per member, ${periodText(r)}`,
      columns: [{ label: 'Member' }, { label: 'Via the exchange', num: true }, { label: 'Via transit', num: true }, { label: 'Local share', num: true }, { label: 'Note' }],
      rows,
      empty: 'No members.',
    });
    if (withShare.length === 0) {
      append(root, h('h2', null, `Members (${fmtInt(members.length)})`), tbl);
      return;
    }
    const labels = withShare.map((m) => asLabel(m.asn, names));
    append(root, h('div', { class: 'charts' }, chartFigure({
      title: `Local share per member, ${r.long}`,
      caption: `Percent of each member's domestic traffic that crossed the exchange, ${periodText(r)}; members without an edge exporter are only in the table.`,
      open: true,
      option: {
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => `${v.toFixed(2)} %` },
        grid: { left: 160, right: 24, top: 16, bottom: 32 },
        xAxis: { type: 'value', min: 0, max: 100, name: '%', axisLabel: { formatter: '{value} %' } },
        yAxis: { type: 'category', data: labels, axisLabel: { width: 150, overflow: 'truncate' } },
        series: [{ name: 'Local share', type: 'bar', data: withShare.map((m) => m.local_share * 100) }],
      },
      table: tbl,
    })));
  },
};
