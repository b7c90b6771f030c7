// Health: delivered and failed attempts per target per minute over the last hour, as SVG.
import { every, get, h, mount } from "./api.js";

const NS = "http://www.w3.org/2000/svg";
function s(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

/** Stacked bars per minute: delivered (green) under failed (red). */
export function chart(buckets, series) {
  const W = 720, H = 180, L = 36, B = 22, T = 8;
  const n = buckets.length;
  const totals = buckets.map((_, i) => series.delivered[i] + series.failed[i]);
  const max = Math.max(1, ...totals);
  const bw = (W - L) / n;
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img" });
  for (const v of [0, Math.ceil(max / 2), max]) {
    svg.append(s("line", { x1: L, x2: W, y1: y(v), y2: y(v), stroke: "#e3e7ee" }));
    svg.append(s("text", { x: L - 4, y: y(v) + 3, "text-anchor": "end" }, String(v)));
  }
  buckets.forEach((iso, i) => {
    const x = L + i * bw;
    const ok = series.delivered[i], bad = series.failed[i];
    if (ok) svg.append(s("rect", { x: x + 1, width: Math.max(1, bw - 2), y: y(ok), height: y(0) - y(ok), fill: "#1f8a4c", class: "bar-delivered" }));
    if (bad) svg.append(s("rect", { x: x + 1, width: Math.max(1, bw - 2), y: y(ok + bad), height: y(ok) - y(ok + bad), fill: "#c0392b", class: "bar-failed" }));
    if (i % 10 === 0 || i === n - 1) {
      const label = new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      svg.append(s("text", { x: x + bw / 2, y: H - 6, "text-anchor": "middle" }, label));
    }
    const tip = s("title", {}, `${new Date(iso).toLocaleTimeString()}: ${ok} delivered, ${bad} failed`);
    const hit = s("rect", { x, width: bw, y: T, height: H - T - B, fill: "transparent" });
    hit.append(tip);
    svg.append(hit);
  });
  return svg;
}

async function draw(box, circuits) {
  const [data, targets] = await Promise.all([get("/api/v1/stats/throughput?minutes=60"), get("/api/v1/targets")]);
  const names = Object.keys(data.targets);
  if (!names.length) return mount(box, h("p.muted", "No delivery attempts in the last hour."));
  mount(circuits, Object.entries(targets.targets).map(([t, c]) => h("span.chip", `${t}: circuit ${c.circuit}`)));
  mount(box, names.map((t) => {
    const series = data.targets[t];
    const ok = series.delivered.reduce((a, b) => a + b, 0);
    const bad = series.failed.reduce((a, b) => a + b, 0);
    const rate = ok + bad ? ((100 * bad) / (ok + bad)).toFixed(1) : "0.0";
    return h("section.card.target-health", { "data-target": t },
      h("h2", t), h("p", `${ok} delivered · ${bad} failed · failure rate ${rate}% · ${series.parked.reduce((a, b) => a + b, 0)} parked`),
      chart(data.buckets, series));
  }));
}

export async function healthView(view) {
  const box = h("div#charts", h("p.muted", "Loading…"));
  const circuits = h("div.chips#circuits");
  mount(view, h("h1", "Health: last hour"),
    h("div.legend", h("span", h("i", { style: "background:#1f8a4c" }), "delivered"), h("span", h("i", { style: "background:#c0392b" }), "failed (retry or dead)")),
    circuits, box);
  await draw(box, circuits);
  every(15000, () => draw(box, circuits).catch(() => {}));
}
