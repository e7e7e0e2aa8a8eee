// Charts: each in a <figure> whose caption says units, period and time
// zone, with the same data in a table in a <details> below it. ECharts
// (vendor/echarts.min.js, a classic script) draws them once the page is
// in the document.

import { h } from './dom.js';
import { fmtBps, wallClock } from './format.js';

const pending = new WeakMap();
const live = new Set();

// chartFigure builds a figure; option is the ECharts option; table is the
// <table> of the same data.
export function chartFigure({ title, caption, option, table, tall, label, open }) {
  const box = h('div', { class: tall ? 'chart tall' : 'chart', role: 'img', 'aria-label': label || title });
  pending.set(box, option);
  return h('figure', { class: 'chart-figure' },
    h('h3', null, title),
    h('figcaption', null, caption),
    box,
    h('details', { open: !!open }, h('summary', null, `Table: ${title}`), h('div', { class: 'table-scroll' }, table)));
}

// mountCharts draws the pending charts under root.
export function mountCharts(root) {
  const ec = window.echarts;
  for (const box of root.querySelectorAll('.chart')) {
    const option = pending.get(box);
    if (!option) continue;
    pending.delete(box);
    if (!ec) {
      box.replaceWith(h('p', { class: 'note' }, 'The chart library did not load; the table below has the data.'));
      continue;
    }
    const c = ec.init(box, null, { renderer: 'canvas' });
    c.setOption({ animation: false, aria: { enabled: true }, ...option });
    live.add(c);
  }
}

// disposeCharts frees the charts of the page being left.
export function disposeCharts() {
  for (const c of live) c.dispose();
  live.clear();
}

window.addEventListener('resize', () => {
  for (const c of live) c.resize();
});

// compactBps labels an axis: 1.5 G, 300 M.
function compactBps(v) {
  return fmtBps(v).replace('bit/s', '').trim();
}

// timeSeriesOption is a line chart over time: series are {name, points:
// [[time, value]], area}; times are drawn in the exchange's zone. The time
// axis spans the range r ({fromMs, toMs}) when given, so a chart with few
// points still shows the whole period; sparse series show their points.
export function timeSeriesOption({ series, yName, yFormat, valueFormat, stack, r }) {
  const xAxis = { type: 'time' };
  if (r) {
    xAxis.min = wallClock(r.fromMs);
    xAxis.max = wallClock(r.toMs);
  }
  return {
    useUTC: true,
    tooltip: { trigger: 'axis', valueFormatter: valueFormat || fmtBps },
    legend: { top: 0 },
    grid: { left: 64, right: 16, top: 32, bottom: 28 },
    xAxis,
    yAxis: { type: 'value', name: yName || 'bit/s', nameGap: 8, axisLabel: { formatter: yFormat || compactBps }, min: 0 },
    series: series.map((s) => ({
      name: s.name,
      type: 'line',
      showSymbol: s.points.filter(([, v]) => v !== null && v !== undefined).length < 48,
      connectNulls: false,
      stack: stack ? 'total' : undefined,
      areaStyle: s.area ? { opacity: 0.25 } : undefined,
      lineStyle: { width: s.width || 1.5 },
      data: s.points.map(([t, v]) => [wallClock(t), v]),
    })),
  };
}
