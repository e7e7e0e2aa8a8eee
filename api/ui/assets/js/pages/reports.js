// Reports: the monthly regulator report of recent months in HTML, CSV or
// JSON. The report needs a token, which a plain link cannot send, so each
// button fetches it with the token and opens or saves what comes back.
// Nothing is fetched until a button is pressed.

import { getBlob } from '../api.js';
import { h, append, table } from '../dom.js';

const FORMATS = [
  ['html', 'View (HTML)'],
  ['csv', 'Download CSV'],
  ['json', 'Download JSON'],
];

function recentMonths(n, now = new Date()) {
  const out = [];
  for (let i = 1; i <= n; i++) {
    out.push(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1)).toISOString().slice(0, 7));
  }
  return out;
}

export default {
  title: 'Reports',
  access: 'token',
  async render({ root }) {
    const status = h('p', { class: 'note', role: 'status', 'aria-live': 'polite' });
    const open = async (month, format, button) => {
      const path = `/api/v1/reports/monthly/${month}?format=${format}`;
      button.disabled = true;
      status.textContent = `Fetching the ${month} report (${format})…`;
      try {
        const blob = await getBlob(path);
        const href = URL.createObjectURL(blob);
        if (format === 'html') {
          window.open(href, '_blank', 'noopener');
        } else {
          const a = h('a', { href, download: `ixpd-report-${month}.${format}` });
          document.body.append(a);
          a.click();
          a.remove();
        }
        setTimeout(() => URL.revokeObjectURL(href), 60000);
        status.textContent = `The ${month} report (${format}) is ready.`;
      } catch (err) {
        status.textContent = `The ${month} report (${format}) failed: ${err.message}`;
      } finally {
        button.disabled = false;
      }
    };
    append(root, 
      h('h1', null, 'Monthly reports'),
      h('p', { class: 'lead' }, 'The monthly report for the regulator: traffic, local share, savings, latency and route-server sessions of one month (UTC).'),
      table({
        caption: 'Reports of the last twelve full months',
        columns: [{ label: 'Month', rowHeader: true }, { label: 'Report' }],
        rows: recentMonths(12).map((m) => [m, h('span', null, FORMATS.map(([f, label]) => {
          const b = h('button', { type: 'button', 'data-month': m, 'data-format': f }, label);
          b.addEventListener('click', () => open(m, f, b));
          return [b, ' '];
        }))]),
      }),
      status,
      h('p', { class: 'note' }, 'The same reports are at /api/v1/reports/monthly/YYYY-MM?format=html|csv|json for clients that send the token themselves, and ', h('code', null, 'ixpd report'), ' makes them offline.'));
  },
};
