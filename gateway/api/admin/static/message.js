// One message: what came in, its canonical form, and per delivery every attempt as it was:
// the requests sent and the replies received, manual or automatic, the mapping version by
// its number, and when a retrying delivery goes next.
import { ApiError, can, get, h, mount, post, pretty, sleep, stateChip, when } from "./api.js";
import { mappingChoice, messageReplay } from "./replay.js";

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** The mapping version by the number the Mappings page shows; the fingerprint secondary. */
function versionCell(a) {
  const hash = a.mapping_version;
  if (!hash) return h("td.mapping-version", "");
  const n = a.mapping_version_number;
  return h("td.mapping-version", { title: `content fingerprint ${hash}` },
    n != null ? h("a", { href: `#/mappings/${encodeURIComponent(a.target)}` }, `v${n}`) : h("span", "not a saved version"),
    " ", h("code.muted.hash", hash));
}

function trigger(a, i) {
  if (a.manual_by) return h("td.trigger.manual", h("strong", "manual"), ` replay by ${a.manual_by}`);
  return h("td.trigger.automatic", i === 0 ? "automatic (first try)" : "automatic");
}

function attemptsTable(d) {
  const columns = ["At", "Trigger", "Outcome", "HTTP", "Latency ms", "Mapping version", "Step", "Error"];
  const first = d.attempt_count - d.attempts.length;
  return h("table.attempts", { "data-target": d.target },
    h("thead", h("tr", columns.map((t) => h("th", t)))),
    h("tbody", d.attempts.map((a, i) => [h("tr.attempt", { "data-trigger": a.manual_by ? "manual" : "automatic" },
      h("td", when(a.at)), trigger(a, first + i), h("td", stateChip(a.outcome)), h("td", a.status ?? ""),
      h("td", a.latency_ms == null ? "" : a.latency_ms.toFixed(1)), versionCell(a), h("td", a.step), h("td.err", a.error || "")),
      (a.exchanges || []).length ? h("tr.exchanges", h("td", { colspan: columns.length },
        a.exchanges.map((x) => exchangeView(x, i === d.attempts.length - 1)))) : null])));
}

const size = (part) => (part.truncated ? ` (first ${part.body.length} characters of ${part.size} bytes)` : ` (${part.size} bytes)`);
const headerLines = (headers) => Object.entries(headers || {}).map(([k, v]) => `${k}: ${v}`).join("\n");

/** One HTTP call of an attempt exactly as it was sent, and what came back (secrets redacted). */
function exchangeView(x, open) {
  const req = x.request;
  const outcome = x.reply ? `HTTP ${x.reply.status}` : `no reply: ${x.error || "?"}`;
  return h("details.exchange", { open, "data-step": x.step },
    h("summary", `Call ${x.step + 1} (${x.name}): ${req.method} ${req.path} → ${outcome}`),
    h("div.row",
      h("div.sent-request", h("h4", "Sent request"), h("p.muted", `${req.method} ${req.url}`, size(req)),
        h("pre.sent-headers", headerLines(req.headers)), h("pre.sent-body", req.body)),
      h("div.reply", h("h4", "Reply"), x.reply
        ? [h("p", h("span.reply-status", `HTTP ${x.reply.status}`), h("span.muted", ` · ${x.latency_ms.toFixed(1)} ms`, size(x.reply))),
          x.error ? h("p.err", x.error) : null,
          h("pre.reply-headers", headerLines(x.reply.headers)), h("pre.reply-body", x.reply.body)]
        : h("p.err.no-reply", `No reply: ${x.error || "unknown error"} (after ${x.latency_ms.toFixed(1)} ms)`))));
}

async function rendered(message, target, box) {
  mount(box, h("p.muted", "Rendering…"));
  try {
    const current = await get(`/api/v1/mappings/${encodeURIComponent(target)}`);
    const out = await post(`/api/v1/mappings/${encodeURIComponent(target)}/preview`,
      { mapping: current.mapping, message_id: message.id });
    mount(box, h("p.rendered-note", h("strong", `Rendered again with today's mapping (version ${current.version}) and today's PO state`),
      " — a re-render, not what was sent: the attempts below show the requests as sent."), out.results.map((r) => [
      h("h3", r.label), r.error ? h("p.err", r.error) : h("pre.rendered", pretty(r.output))]));
  } catch (e) {
    mount(box, h("p.err", e instanceof ApiError && e.status === 404 ? "The mappings API is not available." : e.message));
  }
}

function deliveryCard(m, d, choice, refresh) {
  const out = h("div.rendered-box");
  const count = d.attempt_count ?? d.attempts.length;
  return h("section.card.delivery", { "data-target": d.target, "data-state": d.state },
    h("h2", `→ ${d.target} `, stateChip(d.state)),
    d.reason ? h("p.reason", h("strong", "Reason: "), d.reason, d.park_kind ? ` (${d.park_kind})` : "") : null,
    d.state === "retrying" ? h("p.next-attempt", h("strong", "Next attempt: "), h("time", { datetime: d.next_at }, when(d.next_at))) : null,
    d.replayed_by ? h("p.muted", `Replayed by ${d.replayed_by}; its next attempt will be marked manual.`) : null,
    h("p", can("operator") ? messageReplay(m, d.target, choice, refresh) : null, " ",
      h("button.render-again", { type: "button", title: "A new rendering with the live mapping and PO state, not what was sent",
        onclick: () => rendered(m, d.target, out) }, "Render again with today's mapping")),
    out, h("h3", `Attempts (${count})`),
    count > d.attempts.length ? h("p.muted.attempts-shown", `The latest ${d.attempts.length} are shown.`) : null,
    d.attempts.length ? attemptsTable(d) : h("p.muted", "none yet"));
}

async function settle(id, before) {
  const tries = (msg) => msg.deliveries.reduce((n, d) => n + (d.attempt_count ?? d.attempts.length), 0);
  for (let i = 0; i < 40; i++) {
    await sleep(250);
    const now = await get(`/api/v1/messages/${encodeURIComponent(id)}`);
    if (tries(now) > tries(before) && !["queued", "delivering"].includes(now.state)) return;
  }
}

export async function messageView(view, id) {
  let m;
  try { m = await get(`/api/v1/messages/${encodeURIComponent(id)}`); } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
    return mount(view, h("h1", "Message"), h("p.err#no-message", `No such message: ${id}.`));
  }
  const choice = mappingChoice();
  const refresh = async () => { await settle(id, m); messageView(view, id); };
  const po = m.po_number ? h("a.po-link", { href: `#/po/${encodeURIComponent(m.po_number)}` }, m.po_number)
    : h("span.muted", m.state === "rejected" ? "unknown (not read from the payload)" : "none");
  mount(view,
    h("h1", "Message ", h("code", m.id), " ", stateChip(m.state)),
    h("p.message-facts", `From ${m.system} · received `, h("time", { datetime: m.received_at }, when(m.received_at)), " · PO ", po,
      ` · ${plural(m.deliveries.length, "delivery", "deliveries")}`),
    can("operator") && m.deliveries.length ? h("div.replay-bar", messageReplay(m, null, choice, refresh), " ", choice) : null,
    m.error ? h("p.err.rejected", `Rejected: ${m.error}`, m.error_path ? ` at ${m.error_path}` : "") : null,
    m.note ? h("p.muted", m.note) : null,
    h("div.row", h("section.card", h("h2", "Source payload"), h("pre#source", pretty(m.body)), h("h3", "Headers"), h("pre", pretty(m.headers))),
      h("section.card", h("h2", "Canonical form"), h("pre#canonical", pretty(m.canonical)))),
    m.deliveries.map((d) => deliveryCard(m, d, choice, refresh)));
}
