// Talking to ixpd's API: same origin only, the member token (kept for the
// browser session) sent as a bearer token when there is one.

const TOKEN_KEY = 'ixpd.token';

// token is the member token of this browser session, or "".
export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

// setToken keeps a token for the session; "" forgets it.
export function setToken(t) {
  try {
    if (t) sessionStorage.setItem(TOKEN_KEY, t);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage refused (private mode): the token lasts until the page closes.
  }
  memo.clear();
}

// ApiError is an error answer of the API.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// url builds a path with query parameters (undefined ones left out).
export function url(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

function headers(accept) {
  const hs = { Accept: accept };
  const t = token();
  if (t) hs.Authorization = `Bearer ${t}`;
  return hs;
}

// get fetches a JSON answer; an error answer throws ApiError.
export async function get(path) {
  const res = await fetch(path, { headers: headers('application/json'), credentials: 'same-origin', cache: 'no-store' });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const e = body && body.error ? body.error : {};
    let msg = e.message || `${res.status} ${res.statusText}`;
    if (res.status === 401) {
      msg = token() ? 'the token was refused.' : 'a token is needed.';
      if (token()) refused = true;
    }
    throw new ApiError(res.status, e.code || String(res.status), `${path.split('?')[0]}: ${msg}`);
  }
  return body;
}

// getBlob fetches any answer as a Blob (reports in HTML or CSV).
export async function getBlob(path) {
  const res = await fetch(path, { headers: headers('*/*'), credentials: 'same-origin', cache: 'no-store' });
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      if (body && body.error && body.error.message) msg = body.error.message;
    } catch {
      // not JSON
    }
    throw new ApiError(res.status, String(res.status), msg);
  }
  return res.blob();
}

const memo = new Map();
let refused = false;

// takeRefused reports whether a request was refused for its token since
// the last call.
export function takeRefused() {
  const r = refused;
  refused = false;
  return r;
}

// cached is get, once per path until the token changes.
export function cached(path) {
  if (!memo.has(path)) {
    const p = get(path);
    memo.set(path, p);
    p.catch(() => memo.delete(path));
  }
  return memo.get(path);
}

// settle runs the named requests at once and returns each answer or its
// error, so that one failure leaves the rest of the page standing.
export async function settle(requests) {
  const names = Object.keys(requests);
  const results = await Promise.allSettled(names.map((n) => requests[n]));
  const out = {};
  names.forEach((n, i) => {
    out[n] = results[i].status === 'fulfilled' ? { ok: true, value: results[i].value } : { ok: false, error: results[i].reason };
  });
  return out;
}
