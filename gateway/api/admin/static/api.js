// Talking to the hub: the signed-in key, JSON calls, the role, and small DOM helpers.
const KEY = "pohub.admin.key";
const RANK = { viewer: 1, operator: 2, admin: 3 };
export const session = { key: sessionStorage.getItem(KEY), name: null, role: null };

export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body;
  }
}

function describe(status, body) {
  if (body && typeof body === "object" && body.detail) return `${status}: ${body.detail}`;
  return `${status}: ${typeof body === "string" ? body.slice(0, 200) : JSON.stringify(body)}`;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

export async function api(method, path, body, key = session.key) {
  const headers = { Accept: "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const reply = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await reply.text();
  let data = text;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!reply.ok) throw new ApiError(reply.status, data);
  return data;
}
export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body);
export const put = (path, body) => api("PUT", path, body);

/** Who the key belongs to: /api/v1/whoami, or (while that is missing) what the key may do. */
export async function signIn(key) {
  let who;
  try {
    who = await api("GET", "/api/v1/whoami", undefined, key);
  } catch (e) {
    if (e.status !== 404 && e.status !== 405) throw e;
    await api("GET", "/api/v1/messages?limit=1", undefined, key);
    who = { name: "(key)", role: "viewer" };
    try {
      await api("POST", "/api/v1/replays", { po_number: "__pohub_role_probe__", dry_run: true }, key);
      who.role = "operator";
    } catch (e2) { if (e2.status !== 403) throw e2; }
  }
  sessionStorage.setItem(KEY, key);
  Object.assign(session, { key, name: who.name, role: who.role });
  return who;
}

export function signOut() {
  sessionStorage.removeItem(KEY);
  Object.assign(session, { key: null, name: null, role: null });
}

/** Set by a page holding unsaved edits: the question to confirm before leaving it (null:
 * nothing would be lost). The router asks it on in-page navigation. */
export const unsaved = { message: null };

export const can = (role) => (RANK[session.role] || 0) >= RANK[role];

/** h("tag.class#id", {attrs, onclick}, ...children): DOM without innerHTML. */
export function h(spec, attrs, ...children) {
  const [tag, ...rest] = spec.split(/(?=[.#])/);
  const el = document.createElement(tag || "div");
  for (const part of rest) {
    if (part[0] === ".") el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}
function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function toast(text, bad = false) {
  const item = h(bad ? "div.bad" : "div", text);
  document.getElementById("toast").append(item);
  setTimeout(() => item.remove(), bad ? 8000 : 4000);
}

export const stateChip = (state) => h(`span.chip.state-${state}`, { "data-state": state }, state);
const pad = (n) => String(n).padStart(2, "0");
/** A time as ISO 8601 with its zone, in the browser's zone: 2026-12-01T16:20:03+01:00 (Z for UTC). */
export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const off = -d.getTimezoneOffset();
  const local = new Date(d.getTime() + off * 60000).toISOString().slice(0, 19);
  const zone = off === 0 ? "Z" : `${off > 0 ? "+" : "-"}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return local + zone;
}
/** The browser's zone as ISO writes it (for labels of local-time inputs). */
export const zoneName = () => when(new Date().toISOString()).slice(19) || "Z";
export function pretty(value) {
  if (typeof value === "string") {
    try { return JSON.stringify(JSON.parse(value), null, 2); } catch { return value; }
  }
  return JSON.stringify(value, null, 2);
}

/** Timers of the current view, stopped when the route changes. */
const timers = new Set();
/** Call ``fn`` every ``ms`` until the next route, or until ``el`` (what it refreshes) has
 *  left the page: a view that finished after a newer one replaced it polls nothing. */
export function every(ms, fn, el) {
  const t = setInterval(() => { if (el && !el.isConnected) { clearInterval(t); timers.delete(t); } else fn(); }, ms);
  timers.add(t);
  return t;
}
export function stopTimers() { for (const t of timers) clearInterval(t); timers.clear(); }
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
