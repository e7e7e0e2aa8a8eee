// Formatting numbers and times, and the periods the pages show. Times are
// shown in the exchange's time zone (from /api/v1/ui/config, UTC unless
// the configuration says otherwise).

let zone = 'UTC';
let parts = makeParts('UTC');

function makeParts(tz) {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  });
}

// setTimeZone sets the zone times are shown in; an unknown zone falls back
// to UTC (and says so in the returned name).
export function setTimeZone(tz) {
  try {
    parts = makeParts(tz || 'UTC');
    zone = tz || 'UTC';
  } catch {
    parts = makeParts('UTC');
    zone = 'UTC';
  }
  return zone;
}

// timeZone is the zone times are shown in.
export function timeZone() {
  return zone;
}

function fields(ms) {
  const o = {};
  for (const p of parts.formatToParts(new Date(ms))) o[p.type] = p.value;
  return o;
}

function toMs(t) {
  if (t instanceof Date) return t.getTime();
  if (typeof t === 'number') return t;
  return Date.parse(t);
}

// fmtTime formats a time as YYYY-MM-DD HH:MM in the zone.
export function fmtTime(t) {
  const ms = toMs(t);
  if (!Number.isFinite(ms)) return '—';
  const f = fields(ms);
  return `${f.year}-${f.month}-${f.day} ${f.hour}:${f.minute}`;
}

// fmtDate formats a day as YYYY-MM-DD in the zone.
export function fmtDate(t) {
  const f = fields(toMs(t));
  return `${f.year}-${f.month}-${f.day}`;
}

// wallClock shifts a UTC instant by the zone's offset at that instant, so
// that a chart that draws in UTC shows the zone's wall-clock time.
export function wallClock(t) {
  const ms = toMs(t);
  if (zone === 'UTC') return ms;
  const f = fields(ms);
  const asUTC = Date.UTC(+f.year, +f.month - 1, +f.day, +f.hour, +f.minute, +f.second);
  return ms + (asUTC - Math.floor(ms / 1000) * 1000);
}

const num3 = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 });
const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const dec2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function scaled(v, units, base) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  let i = 0;
  let x = Math.abs(v);
  while (x >= base && i < units.length - 1) {
    x /= base;
    i++;
  }
  return `${v < 0 ? '-' : ''}${num3.format(x)} ${units[i]}`;
}

// fmtBps formats a rate in bits per second with SI prefixes.
export function fmtBps(v) {
  return scaled(v, ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s', 'Pbit/s'], 1000);
}

// fmtBytes formats a volume in bytes with SI prefixes.
export function fmtBytes(v) {
  return scaled(v, ['B', 'kB', 'MB', 'GB', 'TB', 'PB'], 1000);
}

// fmtInt formats a count.
export function fmtInt(v) {
  return v === null || v === undefined ? '—' : int.format(v);
}

// fmtMs formats milliseconds.
export function fmtMs(v) {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : `${dec2.format(v)} ms`;
}

// fmtPct formats a share (0–1) as a percentage.
export function fmtPct(share) {
  return share === null || share === undefined || !Number.isFinite(share) ? '—' : `${dec2.format(share * 100)} %`;
}

// fmtUSD formats US dollars.
export function fmtUSD(v) {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : `${dec2.format(v)} USD`;
}

// fmtDuration formats seconds as days, hours and minutes.
export function fmtDuration(s) {
  if (!Number.isFinite(s) || s <= 0) return '—';
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${hh}h`;
  if (hh > 0) return `${hh}h ${mm}m`;
  return `${mm}m`;
}

const MIN = 60 * 1000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

// PERIODS are the ranges the pages offer, each with the step its graphs
// use (a multiple of 5 minutes, as the API wants).
export const PERIODS = {
  day: { label: 'Day', long: 'last 24 hours', span: DAY, step: '5m', stepMs: 5 * MIN, stepText: '5 minutes', stepAdj: '5-minute' },
  week: { label: 'Week', long: 'last 7 days', span: 7 * DAY, step: '30m', stepMs: 30 * MIN, stepText: '30 minutes', stepAdj: '30-minute' },
  month: { label: 'Month', long: 'last 30 days', span: 30 * DAY, step: '2h', stepMs: 2 * HOUR, stepText: '2 hours', stepAdj: '2-hour' },
  year: { label: 'Year', long: 'last 365 days', span: 365 * DAY, step: '24h', stepMs: DAY, stepText: '1 day', stepAdj: '1-day' },
};

// iso writes an instant as RFC 3339 in UTC without fractions.
export function iso(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// periodRange is the period ending at the end of the step now is in,
// so that every step is whole.
// A period may be given by name or as an object like those of PERIODS.
export function periodRange(period, now = Date.now()) {
  const p = typeof period === 'string' ? PERIODS[period] || PERIODS.day : period;
  const to = Math.ceil(now / p.stepMs) * p.stepMs;
  const from = to - p.span;
  return { name: typeof period === 'string' ? period : p.name, ...p, fromMs: from, toMs: to, from: iso(from), to: iso(to) };
}

// pickPeriod returns params' period if it is one of allowed, else fallback.
export function pickPeriod(params, allowed, fallback) {
  const p = params.get('period');
  return allowed.includes(p) ? p : fallback;
}

// periodText describes a range for captions: "from … to … (zone)".
export function periodText(r) {
  return `from ${fmtTime(r.fromMs)} to ${fmtTime(r.toMs)} (${zone})`;
}
