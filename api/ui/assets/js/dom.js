// Building DOM from data: every text goes in as a text node, never as HTML
// (member names, AS paths and communities come from outside).

// h builds an element: attrs are attributes (on* a listener, class, and
// false/null/undefined leave the attribute out); children are nodes,
// strings or numbers, nested arrays allowed.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      el.className = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

// append adds children to el as h does: nested arrays are flattened and
// null, undefined and false left out (Element.append would write them).
export function append(el, ...children) {
  for (const c of [children].flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// esc escapes text for the few places that want HTML (chart tooltips).
export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

// rawValue is how a figure's API value is written in data-value: numbers
// and strings as they came, null as "null".
export function rawValue(v) {
  if (v === null || v === undefined) return 'null';
  return String(v);
}

// figureAttrs marks an element as a key figure: name, the raw API value,
// the request it came from and the field in that answer, and a key when
// the figure repeats (per member, per neighbor...).
export function figureAttrs({ name, value, source, field, key }) {
  return {
    'data-figure': name,
    'data-value': rawValue(value),
    'data-source': source,
    'data-field': field,
    'data-key': key,
  };
}

// kpi is one key figure in a definition list.
export function kpi({ label, text, sub, ...fig }) {
  return h('div', { class: 'kpi' },
    h('dt', null, label),
    h('dd', figureAttrs(fig), text, sub ? h('span', { class: 'sub' }, sub) : null));
}

// kpis is a list of key figures.
export function kpis(items) {
  return h('dl', { class: 'kpis' }, items);
}

// table builds a table: columns are {label, num}; rows are arrays of
// cells, each a node, a string, or {text, num, attrs}.
export function table({ caption, columns, rows, empty }) {
  const head = h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label))));
  const body = h('tbody');
  for (const row of rows) {
    const tr = h('tr');
    row.forEach((cell, i) => {
      const col = columns[i] || {};
      if (cell && typeof cell === 'object' && !(cell instanceof Node) && !Array.isArray(cell)) {
        tr.append(h(i === 0 && col.rowHeader ? 'th' : 'td', { class: (cell.num ?? col.num) ? 'num' : null, scope: i === 0 && col.rowHeader ? 'row' : null, ...cell.attrs }, cell.text));
      } else {
        tr.append(h(i === 0 && col.rowHeader ? 'th' : 'td', { class: col.num ? 'num' : null, scope: i === 0 && col.rowHeader ? 'row' : null }, cell));
      }
    });
    body.append(tr);
  }
  if (rows.length === 0) {
    body.append(h('tr', null, h('td', { colspan: columns.length, class: 'note' }, empty || 'No data.')));
  }
  return h('table', null, caption ? h('caption', null, caption) : null, head, body);
}

// switcher is a row of links such as periods or tabs; the current one
// carries aria-current.
export function switcher(label, items, current) {
  return h('ul', { class: 'switch', 'aria-label': label },
    items.map((it) => h('li', null, h('a', { href: it.href, 'aria-current': it.id === current ? 'page' : null }, it.label))));
}

// errorBox shows what went wrong in the page.
export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, err && err.message ? err.message : String(err));
}
