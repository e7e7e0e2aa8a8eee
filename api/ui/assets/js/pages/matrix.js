// Member-pair matrix: bytes from each member to each other member across
// the exchange, as a heat map and a table. Member-level: needs a token.

import { get, url } from '../api.js';
import { h, append, kpi, kpis, table, switcher, esc, figureAttrs } from '../dom.js';
import { PERIODS, periodRange, pickPeriod, periodText, fmtBps, fmtBytes, fmtPct } from '../format.js';
import { chartFigure } from '../chart.js';
import { memberNames, asLabel, asLink } from '../names.js';

const HEAT_MAP_MEMBERS = 30;

export default {
  title: 'Member-pair matrix',
  access: 'token',
  feature: 'traffic',
  async render({ root, cfg, params }) {
    const period = pickPeriod(params, Object.keys(PERIODS), 'day');
    const r = periodRange(period);
    const source = url('/api/v1/traffic/matrix', { from: r.from, to: r.to });
    const [body, names] = await Promise.all([get(source), memberNames(cfg)]);
    const pairs = body.pairs || [];
    const seconds = (Date.parse(body.to) - Date.parse(body.from)) / 1000;
    const total = pairs.reduce((a, p) => a + p.bytes, 0);

    append(root, 
      h('h1', null, 'Member-pair matrix'),
      h('p', { class: 'lead' }, 'Bytes sent from each member to each other member across the exchange.'),
      switcher('Period', Object.entries(PERIODS).map(([id, p]) => ({ id, label: p.label, href: `#/matrix?period=${id}` })), period),
      kpis([
        kpi({ label: `Total, ${r.long}`, text: fmtBytes(total), name: 'matrix_total_bytes', value: total, source, field: 'sum(pairs[].bytes)' }),
        kpi({ label: 'Member pairs with traffic', text: String(pairs.length), name: 'matrix_pairs', value: pairs.length, source, field: 'count(pairs)' }),
      ]));

    // The heat map shows the members with the most traffic.
    const byMember = new Map();
    for (const p of pairs) {
      byMember.set(p.src_asn, (byMember.get(p.src_asn) || 0) + p.bytes);
      byMember.set(p.dst_asn, (byMember.get(p.dst_asn) || 0) + p.bytes);
    }
    const asns = [...byMember.entries()].sort((a, b) => b[1] - a[1]).slice(0, HEAT_MAP_MEMBERS).map(([asn]) => asn).sort((a, b) => a - b);
    const index = new Map(asns.map((a, i) => [a, i]));
    const labels = asns.map((a) => asLabel(a, names));
    const cells = pairs.filter((p) => index.has(p.src_asn) && index.has(p.dst_asn)).map((p) => [index.get(p.dst_asn), index.get(p.src_asn), p.bytes]);
    const max = cells.reduce((m, c) => Math.max(m, c[2]), 0);
    const caption = `Bytes from the member on the left to the member below, ${periodText(r)}` +
      (byMember.size > HEAT_MAP_MEMBERS ? `; the ${HEAT_MAP_MEMBERS} members with the most traffic (the table has every pair).` : '.');
    const rows = pairs.map((p) => [
      asLink(p.src_asn, names),
      asLink(p.dst_asn, names),
      { text: fmtBytes(p.bytes), attrs: figureAttrs({ name: 'pair_bytes', value: p.bytes, source, field: `pairs[src_asn=${p.src_asn},dst_asn=${p.dst_asn}].bytes`, key: `${p.src_asn}-${p.dst_asn}` }) },
      { text: fmtBps(seconds > 0 ? (8 * p.bytes) / seconds : 0), num: true },
      { text: fmtPct(total > 0 ? p.bytes / total : null), num: true },
    ]);
    const tbl = table({
      caption: `Member pairs, ${periodText(r)}; average rate over the whole period`,
      columns: [{ label: 'From' }, { label: 'To' }, { label: 'Bytes', num: true }, { label: 'Average rate', num: true }, { label: 'Share', num: true }],
      rows,
      empty: 'No traffic between members in this period.',
    });
    append(root, chartFigure({
      title: `Traffic between members, ${r.long}`,
      caption,
      tall: true,
      open: true,
      option: {
        tooltip: {
          formatter: (p) => `${esc(labels[p.value[1]])} → ${esc(labels[p.value[0]])}<br>${esc(fmtBytes(p.value[2]))}`,
        },
        grid: { left: 150, right: 24, top: 32, bottom: 130 },
        xAxis: { type: 'category', data: labels, name: 'To', nameLocation: 'middle', nameGap: 100, axisLabel: { rotate: 40, width: 120, overflow: 'truncate' }, splitArea: { show: true } },
        yAxis: { type: 'category', data: labels, name: 'From', axisLabel: { width: 140, overflow: 'truncate' }, splitArea: { show: true } },
        visualMap: { min: 0, max: max || 1, calculable: true, orient: 'horizontal', left: 'center', bottom: 0, formatter: (v) => fmtBytes(v), inRange: { color: ['#eef4fb', '#1f4e79'] } },
        series: [{ name: 'Bytes', type: 'heatmap', data: cells, emphasis: { itemStyle: { borderColor: '#000', borderWidth: 1 } } }],
      },
      table: tbl,
    }));
  },
};
