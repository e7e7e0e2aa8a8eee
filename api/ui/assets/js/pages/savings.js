// Savings: a month's avoided transit cost on the p95 and the peak of
// traffic across the exchange, with its band and every input. Public.

import { get, url } from '../api.js';
import { h, append, kpi, kpis, table } from '../dom.js';
import { fmtUSD, fmtInt } from '../format.js';
import { chartFigure } from '../chart.js';

const dec = new Intl.NumberFormat('en-US', { maximumFractionDigits: 3 });

function lastFullMonth(now = new Date()) {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return d.toISOString().slice(0, 7);
}

function shiftMonth(month, by) {
  const [y, m] = month.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1 + by, 1)).toISOString().slice(0, 7);
}

export default {
  title: 'Savings',
  access: 'public',
  feature: 'traffic',
  async render({ root, params }) {
    const asked = params.get('month') || '';
    const month = /^\d{4}-(0[1-9]|1[0-2])$/.test(asked) ? asked : lastFullMonth();
    const source = url('/api/v1/savings', { month });
    const input = h('input', { id: 'savings-month', type: 'month', name: 'month', value: month, required: true });
    append(root, 
      h('h1', null, 'Avoided transit cost'),
      h('p', { class: 'lead' }, 'What the traffic across the exchange would have cost as international transit, for one month, in US dollars.'),
      h('form', {
        class: 'inline',
        onsubmit: (e) => {
          e.preventDefault();
          if (input.value) location.hash = `#/savings?month=${input.value}`;
        },
      }, h('label', { for: 'savings-month' }, 'Month (UTC)'), input, h('button', { type: 'submit', class: 'primary' }, 'Show'),
      h('a', { href: `#/savings?month=${shiftMonth(month, -1)}` }, '← previous month'),
      h('a', { href: `#/savings?month=${shiftMonth(month, 1)}` }, 'next month →')));
    const s = await get(source);
    const fig = (label, name, field, value, text, sub) => kpi({ label, text, sub, name, value, source, field });
    const band = s.band || {};
    const bandPeak = s.band_peak || {};
    append(root, 
      h('h2', null, `Month ${s.month} (UTC)`),
      kpis([
        fig('Savings on the p95 (billing basis)', 'savings_usd_p95', 'savings_usd_p95', s.savings_usd_p95, fmtUSD(s.savings_usd_p95),
          `band ${fmtUSD(band.low_usd)} to ${fmtUSD(band.high_usd)}`),
        fig('Savings on the peak', 'savings_usd_peak', 'savings_usd_peak', s.savings_usd_peak, fmtUSD(s.savings_usd_peak),
          `band ${fmtUSD(bandPeak.low_usd)} to ${fmtUSD(bandPeak.high_usd)}`),
        fig('95th percentile of traffic', 'p95_mbps', 'p95_mbps', s.p95_mbps, `${dec.format(s.p95_mbps)} Mbit/s`),
        fig('Peak of traffic', 'peak_mbps', 'peak_mbps', s.peak_mbps, `${dec.format(s.peak_mbps)} Mbit/s`),
      ]));
    const rows = [
      ['95th percentile (billing basis)', band.low_usd, s.savings_usd_p95, band.high_usd, 'band'],
      ['Peak (as in published IXP studies)', bandPeak.low_usd, s.savings_usd_peak, bandPeak.high_usd, 'band_peak'],
    ];
    const cell = (v, name, field) => ({ text: fmtUSD(v), num: true, attrs: { 'data-figure': name, 'data-value': v ?? 'null', 'data-source': source, 'data-field': field } });
    append(root, h('div', { class: 'charts' }, chartFigure({
      title: `Avoided transit cost, ${s.month}`,
      caption: `US dollars for the month ${s.month} (UTC): the estimate and the low and high ends of its band, on the p95 and on the peak of traffic across the exchange.`,
      open: true,
      option: {
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => fmtUSD(v) },
        legend: { top: 0 },
        grid: { left: 80, right: 16, top: 32, bottom: 28 },
        xAxis: { type: 'category', data: ['p95 basis', 'Peak basis'] },
        yAxis: { type: 'value', name: 'USD', min: 0 },
        series: [
          { name: 'Low', type: 'bar', data: rows.map((r) => r[1] ?? null) },
          { name: 'Estimate', type: 'bar', data: rows.map((r) => r[2] ?? null) },
          { name: 'High', type: 'bar', data: rows.map((r) => r[3] ?? null) },
        ],
      },
      table: table({
        caption: `Avoided transit cost in USD for ${s.month}`,
        columns: [{ label: 'Basis', rowHeader: true }, { label: 'Low', num: true }, { label: 'Estimate', num: true }, { label: 'High', num: true }],
        rows: rows.map((r) => [r[0], cell(r[1], `${r[4]}_low_usd`, `${r[4]}.low_usd`), { text: fmtUSD(r[2]), num: true }, cell(r[3], `${r[4]}_high_usd`, `${r[4]}.high_usd`)]),
      }),
    })));
    const inputs = s.inputs || {};
    const inRow = (label, name, v, unit) => [label,
      { text: `${dec.format(v.value)} ${unit}`, num: true, attrs: { 'data-figure': name, 'data-value': v.value, 'data-source': source, 'data-field': `inputs.${name}.value` } },
      { text: `${dec.format(v.low)} – ${dec.format(v.high)} ${unit}`, num: true },
      v.source || ''];
    append(root, 
      h('h2', null, 'Inputs'),
      table({
        caption: 'Every input of the estimate, with the range its band uses and where it comes from',
        columns: [{ label: 'Input', rowHeader: true }, { label: 'Value', num: true }, { label: 'Range', num: true }, { label: 'Source' }],
        rows: [
          inputs.transit_price ? inRow('Transit price', 'transit_price', inputs.transit_price, 'USD per Mbit/s per month') : null,
          inputs.ixp_cost ? inRow('Exchange cost', 'ixp_cost', inputs.ixp_cost, 'USD per Mbit/s per month') : null,
          inputs.alpha ? inRow('Alpha (share that would otherwise cross transit)', 'alpha', inputs.alpha, '') : null,
        ].filter(Boolean),
      }),
      h('p', { class: 'note' }, `${fmtInt(inputs.bins)} 5-minute bins in the month, ${fmtInt(inputs.missing_bins)} without traffic (counted as zero).`),
      h('h2', null, 'Method'),
      h('p', null, s.method || ''));
  },
};
