// Health: each target's circuit, pause, backlog and latency, then delivered and failed
// attempts per target per minute over the last hour, as SVG.
import { can, every, get, h, mount, post, toast } from "./api.js";

const NS = "http://www.w3.org/2000/svg";
function s(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** ISO 8601 in UTC, to the second, with its zone: the same reading for everyone. */
export function iso(t) {
  return t ? new Date(t).toISOString().replace("T", " ").slice(0, 19) + "Z" : "";
}

/** "45 s", "12 min", "3.2 h", "2.1 d": how long ago ``t`` was. */
export function age(t, now = Date.now()) {
  const secs = Math.max(0, (now - new Date(t).getTime()) / 1000);
  if (secs < 90) return `${Math.round(secs)} s`;
  if (secs < 90 * 60) return `${Math.round(secs / 60)} min`;
  if (secs < 36 * 3600) return `${(secs / 3600).toFixed(1)} h`;
  return `${(secs / 86400).toFixed(1)} d`;
}

/** The most attempts in one minute of one target: the top of its y-scale. */
export const peak = (buckets, series) => Math.max(1, ...buckets.map((_, i) => series.delivered[i] + series.failed[i]));

/** Stacked bars per minute: delivered (green) under failed (red); ``max`` fixes the scale. */
export function chart(buckets, series, max = peak(buckets, series)) {
  const W = 720, H = 180, L = 36, B = 22, T = 8;
  const n = buckets.length;
  const bw = (W - L) / n;
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "data-max": String(max) });
  for (const v of [0, Math.ceil(max / 2), max]) {
    svg.append(s("line", { x1: L, x2: W, y1: y(v), y2: y(v), stroke: "#e3e7ee" }));
    svg.append(s("text", { x: L - 4, y: y(v) + 3, "text-anchor": "end", class: "tick" }, String(v)));
  }
  buckets.forEach((when, i) => {
    const x = L + i * bw;
    const ok = series.delivered[i], bad = series.failed[i];
    // a failure is drawn at least 2 units tall: one failed attempt among hundreds stays visible
    const badH = bad ? Math.max(y(ok) - y(ok + bad), 2) : 0;
    if (ok) svg.append(s("rect", { x: x + 1, width: Math.max(1, bw - 2), y: y(ok), height: y(0) - y(ok), fill: "#1f8a4c", class: "bar-delivered" }));
    if (bad) svg.append(s("rect", { x: x + 1, width: Math.max(1, bw - 2), y: y(ok) - badH, height: badH, fill: "#c0392b", class: "bar-failed" }));
    if (i % 10 === 0 || i === n - 1) svg.append(s("text", { x: x + bw / 2, y: H - 6, "text-anchor": "middle" }, iso(when).slice(11, 16) + "Z"));
    const tip = s("title", {}, `${iso(when)}: ${ok} delivered, ${bad} failed`);
    const hit = s("rect", { x, width: bw, y: T, height: H - T - B, fill: "transparent" });
    hit.append(tip);
    svg.append(hit);
  });
  return svg;
}

function circuitChip(state) {
  const words = { open: "circuit open", "half-open": "circuit half-open (probing)", closed: "circuit closed", unknown: "circuit: no worker here" };
  return h(`span.chip.circuit.circuit-${state}`, { "data-circuit": state, title: "The breaker opens after 5 failures in a row; half-open lets one probe through" }, words[state] || state);
}

function pauseControl(name, t, refresh) {
  if (!can("operator")) return t.paused ? h("span.muted", "paused") : null;
  const box = h("span.pause-box");
  const act = async (verb) => {
    try {
      const done = await post(`/api/v1/targets/${encodeURIComponent(name)}/${verb}`);
      toast(verb === "pause" ? `${name} paused: its deliveries wait` : `${name} resumed: ${done.requeued} waiting deliveries sent on`);
    } catch (e) { toast(String(e.message || e), true); }
    await refresh();
  };
  if (t.paused) return mount(box, h("button.resume", { type: "button", onclick: () => act("resume") }, "Resume"));
  const ask = () => mount(box, h("span.confirm",
    `Pause ${name}? Its deliveries wait (nothing is sent, nothing fails) until resumed.`,
    h("button.danger.confirm-pause", { type: "button", onclick: () => act("pause") }, `Pause ${name}`),
    h("button", { type: "button", onclick: () => mount(box, start) }, "Cancel")));
  const start = h("button.pause", { type: "button", onclick: ask }, "Pause");
  return mount(box, start);
}

function targetRow(name, t, latency, refresh) {
  const b = t.backlog;
  const lat = latency && latency.count ? `${latency.p50} / ${latency.p99} ms` : "—";
  return h(`tr.target-row${t.circuit === "open" ? ".trouble" : ""}`, { "data-target": name },
    h("th", name),
    h("td", circuitChip(t.circuit), t.paused ? h("span.chip.paused-chip", { title: `by ${t.paused_by} at ${iso(t.paused_at)}` }, "paused") : null),
    h("td.backlog", { title: `queued ${b.queued}, retrying ${b.retrying}, delivering ${b.delivering}` }, String(b.backlog)),
    h("td.oldest", b.oldest_at ? h("span", { title: iso(b.oldest_at) }, age(b.oldest_at)) : "—"),
    h("td.next-retry", b.next_retry_at ? `${b.retrying} retrying, next ${iso(b.next_retry_at)}` : "—"),
    h("td.parked-now", String(b.parked)),
    h("td.paused-now", String(b.paused)),
    h("td.latency", { title: `p50 / p99 of ${latency ? latency.count : 0} delivered attempts in the last hour` }, lat),
    h("td.act", pauseControl(name, t, refresh)));
}

async function drawTargets(box, latencies) {
  const { targets } = await get("/api/v1/targets");
  const refresh = () => drawTargets(box, latencies);
  mount(box, h("table#targets",
    h("thead", h("tr", h("th", "Target"), h("th", "Circuit"), h("th", "Backlog (deliveries)"), h("th", "Oldest waiting"),
      h("th", "Retrying"), h("th", "Parked now (deliveries)"), h("th", "Waiting for resume"), h("th", "Latency p50 / p99"), h("th", ""))),
    h("tbody", Object.entries(targets).map(([name, t]) => targetRow(name, t, latencies[name], refresh)))));
}

async function drawAlerts(box) {
  const a = await get("/api/v1/alerts");
  if (!a.enabled) return mount(box, h("p.muted", "Alerts are off (config.yaml alerts:, see the README)."));
  mount(box,
    h("p.muted", `Alerts on ${a.causes.join(", ")} go to ${a.channels.join(", ") || "no channel"}: one per cause, until it clears.`),
    a.open.length
      ? h("ul#open-alerts", a.open.map((e) => h("li.alert", { "data-kind": e.kind, "data-target": e.target },
        h("strong", `${e.kind} · ${e.target}`), ` since ${iso(e.since)}: ${e.summary}`)))
      : h("p#open-alerts.muted", "No open alert."));
}

function drawCharts(box, data, shared) {
  const names = Object.keys(data.targets);
  if (!names.length) return mount(box, h("p.muted", "No delivery attempts in the last hour."));
  const top = shared ? Math.max(...names.map((t) => peak(data.buckets, data.targets[t]))) : undefined;
  mount(box, names.map((t) => {
    const series = data.targets[t];
    const ok = sum(series.delivered), bad = sum(series.failed), parks = sum(series.park_events);
    const rate = ok + bad ? ((100 * bad) / (ok + bad)).toFixed(1) : "0.0";
    return h("section.card.target-health", { "data-target": t },
      h("h2", t),
      h("p.summary", `${ok} delivered · ${bad} failed attempts (retry or dead) · failure rate ${rate}% · ${parks} park events (attempts that parked a delivery)`),
      chart(data.buckets, series, top));
  }));
}

export async function healthView(view) {
  const table = h("div#target-table", h("p.muted", "Loading…"));
  const charts = h("div#charts", h("p.muted", "Loading…"));
  const alerts = h("div#alerts");
  const shared = h("input#shared-scale", { type: "checkbox" });
  let data = null;
  shared.addEventListener("change", () => data && drawCharts(charts, data, shared.checked));
  mount(view, h("h1", "Health"),
    h("section.card", h("h2", "Targets now"), table,
      h("p.muted", "Backlog: deliveries queued, retrying or being sent. Oldest waiting: since its message arrived. Parked now: deliveries waiting for a mapping row or a PO. Latency: send to reply, delivered attempts of the last hour.")),
    h("section.card", h("h2", "Alerts"), alerts),
    h("h2", "Attempts, last hour"),
    h("div.legend", h("span", h("i", { style: "background:#1f8a4c" }), "delivered"), h("span", h("i", { style: "background:#c0392b" }), "failed (retry or dead)"),
      h("label.inline", shared, "Same scale for every target")),
    charts);
  const load = async () => {
    data = await get("/api/v1/stats/throughput?minutes=60");
    const latencies = Object.fromEntries(Object.entries(data.targets).map(([t, v]) => [t, v.latency_ms]));
    if (!table.querySelector(".confirm")) await drawTargets(table, latencies); // not under an open question
    drawCharts(charts, data, shared.checked);
    await drawAlerts(alerts);
  };
  await load();
  every(5000, () => load().catch(() => {}), view);
}
