// Messages: search, live counts, one message (payloads, attempts, replay), problems, PO timeline.
import { ApiError, can, every, get, h, mount, post, pretty, query, sleep, stateChip, toast, when } from "./api.js";

const STATES = ["received", "queued", "delivering", "delivered", "retrying", "parked", "dead", "rejected"];
const FILTERS = ["po_number", "system", "target", "status", "since", "until", "reason"];

function toIso(local) { return local ? new Date(local).toISOString() : ""; }
function toLocal(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

async function counts(box) {
  try {
    const c = await get("/api/v1/stats/counts");
    mount(box, Object.entries(c).map(([state, n]) =>
      h("a.chip.state-" + state, { href: `#/messages?status=${state}`, "data-count": state }, `${state}: ${n}`)));
  } catch (e) { mount(box, h("span.err", `counts: ${e.message}`)); }
}

/** Count first, then replay the filtered set as a job and follow it. */
/** Which mapping a replay renders with: the live one, or the version first used. */
function mappingChoice() {
  return h("select.replay-mapping", { title: "mapping for the replay" },
    h("option", { value: "live" }, "with the live mapping"),
    h("option", { value: "first" }, "with the version it first used"));
}

export function bulkReplay(filter, label = "Replay matching…") {
  const box = h("div");
  const choice = mappingChoice();
  const start = h("button.replay-bulk", { type: "button", onclick: async () => {
    const body = { ...filter, status: filter.status || null, mapping: choice.value };
    let count;
    try { count = (await post("/api/v1/replays", { ...body, dry_run: true })).count; }
    catch (e) { return toast(e.message, true); }
    const go = h("button.primary.confirm-replay", { type: "button", disabled: count === 0, onclick: async () => {
      go.disabled = true;
      let job = await post("/api/v1/replays", { ...body, dry_run: false });
      const status = h("span.job", `replaying… 0/${count}`);
      mount(box, status);
      while (job.state === "running") {
        await sleep(300);
        job = await get(`/api/v1/replays/${job.id}`);
        status.textContent = `replaying… ${job.done}/${job.total ?? count}`;
      }
      status.textContent = job.state === "done" ? `Replayed ${job.replayed} of ${job.total} deliveries.` : `Replay failed: ${job.error}`;
    } }, `Replay ${count}`);
    mount(box, h("div.confirm", h("span.replay-count", `This will replay ${count} deliver${count === 1 ? "y" : "ies"}.`), go,
      h("button", { type: "button", onclick: () => mount(box, start, choice) }, "Cancel")));
  } }, label);
  mount(box, start, choice);
  return box;
}

export async function messagesView(view, params) {
  const field = (name, label, attrs = {}) => h("label", label, h("input", { name, value: params[name] || "", ...attrs }));
  const status = h("select", { name: "status" }, h("option", { value: "" }, "any"),
    STATES.map((s) => h("option", { value: s, selected: params.status === s }, s)));
  const form = h("form.filters#filters", { onsubmit: (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    data.since = toIso(data.since); data.until = toIso(data.until);
    location.hash = `#/messages${query(data)}`;
  } },
  field("po_number", "PO number"), field("system", "System"), field("target", "Target"),
  h("label", "Status", status), field("reason", "Reason contains"),
  h("label", "Since", h("input", { type: "datetime-local", name: "since", value: toLocal(params.since) })),
  h("label", "Until", h("input", { type: "datetime-local", name: "until", value: toLocal(params.until) })),
  h("button.primary", { type: "submit" }, "Search"));
  const chips = h("div.chips#counts");
  const results = h("div#results", h("p.muted", "Loading…"));
  const filter = Object.fromEntries(FILTERS.filter((k) => params[k]).map((k) => [k, params[k]]));
  mount(view, h("h1", "Messages"), chips, h("section.card", form,
    can("operator") ? bulkReplay(filter) : null), results);
  counts(chips);
  every(5000, () => counts(chips));
  const offset = Number(params.offset || 0);
  const page = await get(`/api/v1/messages${query({ ...filter, offset, limit: 50 })}`);
  const rows = page.items.map((m) => h("tr.link", { "data-id": m.id, onclick: () => { location.hash = `#/message/${m.id}`; } },
    h("td", when(m.received_at)), h("td.po", m.po_number || ""), h("td", m.system), h("td", stateChip(m.state)),
    h("td", m.deliveries.map((d) => h("span.chip.state-" + d.state, `${d.target}: ${d.state}`)))));
  const more = (delta) => { location.hash = `#/messages${query({ ...filter, offset: Math.max(0, offset + delta) })}`; };
  mount(results, h("p.muted", `${page.total} message${page.total === 1 ? "" : "s"}`),
    h("table#messages", h("thead", h("tr", ["Received", "PO", "System", "State", "Deliveries"].map((t) => h("th", t)))), h("tbody", rows)),
    h("p", offset > 0 ? h("button", { type: "button", onclick: () => more(-50) }, "Newer") : null,
      offset + page.items.length < page.total ? h("button", { type: "button", onclick: () => more(50) }, "Older") : null));
}

function attemptsTable(d) {
  return h("table.attempts", { "data-target": d.target },
    h("thead", h("tr", ["At", "Outcome", "HTTP", "Latency ms", "Mapping version", "Step", "Error"].map((t) => h("th", t)))),
    h("tbody", d.attempts.map((a, i) => [h("tr.attempt",
      h("td", when(a.at)), h("td", stateChip(a.outcome)), h("td", a.status ?? ""), h("td", a.latency_ms == null ? "" : a.latency_ms.toFixed(1)),
      h("td.mapping-version", a.mapping_version || ""), h("td", a.step), h("td.err", a.error || "")),
      (a.exchanges || []).length ? h("tr.exchanges", h("td", { colspan: 7 },
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
      " — not necessarily what was sent; the attempts below show the sent requests."), out.results.map((r) => [
      h("h3", r.label), r.error ? h("p.err", r.error) : h("pre.rendered", pretty(r.output))]));
  } catch (e) {
    mount(box, h("p.err", e instanceof ApiError && e.status === 404 ? "The mappings API is not available." : e.message));
  }
}

export async function messageView(view, id) {
  const m = await get(`/api/v1/messages/${encodeURIComponent(id)}`);
  const choice = mappingChoice();
  const replay = async (target) => {
    const tries = (msg) => msg.deliveries.reduce((n, d) => n + (target && d.target !== target ? 0 : d.attempt_count ?? d.attempts.length), 0);
    const before = tries(m);
    try {
      const r = await post(`/api/v1/messages/${encodeURIComponent(id)}/replay${query({ target, mapping: choice.value })}`);
      toast(`Replayed ${r.replayed.length} deliver${r.replayed.length === 1 ? "y" : "ies"}.`);
    } catch (e) { return toast(e.message, true); }
    for (let i = 0; i < 40; i++) {
      await sleep(250);
      const now = await get(`/api/v1/messages/${encodeURIComponent(id)}`);
      if (tries(now) > before && !["queued", "delivering"].includes(now.state)) break;
    }
    messageView(view, id);
  };
  const deliveries = m.deliveries.map((d) => {
    const out = h("div.rendered-box");
    return h("section.card.delivery", { "data-target": d.target },
      h("h2", `→ ${d.target} `, stateChip(d.state)),
      d.reason ? h("p.reason", h("strong", "Reason: "), d.reason, d.park_kind ? ` (${d.park_kind})` : "") : null,
      h("p", can("operator") ? h("button.replay", { type: "button", onclick: () => replay(d.target) }, `Replay to ${d.target}`) : null, " ",
        h("button.render-again", { type: "button", title: "A new rendering with the live mapping and PO state, not what was sent",
          onclick: () => rendered(m, d.target, out) }, "Render again with today's mapping")),
      out, h("h3", `Attempts (${d.attempt_count ?? d.attempts.length})`),
      (d.attempt_count ?? 0) > d.attempts.length ? h("p.muted.attempts-shown", `The latest ${d.attempts.length} are shown.`) : null,
      d.attempts.length ? attemptsTable(d) : h("p.muted", "none yet"));
  });
  mount(view,
    h("h1", "Message ", h("code", m.id), " ", stateChip(m.state)),
    h("p", `${m.system} · received ${when(m.received_at)} · PO `,
      m.po_number ? h("a", { href: `#/po/${encodeURIComponent(m.po_number)}` }, m.po_number) : "—", " ",
      can("operator") && m.deliveries.length ? h("button.replay-all", { type: "button", onclick: () => replay() }, "Replay all targets") : null,
      " ", can("operator") && m.deliveries.length ? choice : null),
    m.error ? h("p.err", `Rejected: ${m.error}`, m.error_path ? ` at ${m.error_path}` : "") : null,
    h("div.row", h("section.card", h("h2", "Source payload"), h("pre#source", pretty(m.body)), h("h3", "Headers"), h("pre", pretty(m.headers))),
      h("section.card", h("h2", "Canonical form"), h("pre#canonical", pretty(m.canonical)))),
    deliveries);
}

export async function problemsView(view) {
  const section = async (status, title) => {
    const groups = await get(`/api/v1/stats/causes?status=${status}`);
    const total = groups.reduce((n, g) => n + g.count, 0);
    return h(`section.card#${status}`, h("h2", `${title} (${total})`),
      groups.length === 0 ? h("p.muted", "none") : h("table.causes", h("thead", h("tr", ["Target", "Cause", "Deliveries", ""].map((t) => h("th", t)))),
        h("tbody", groups.map((g) => h("tr.cause", h("td", g.target), h("td.cause-text", g.cause, " ",
          g.cause.startsWith("mapping missing") ? h("a", { href: `#/mappings/${encodeURIComponent(g.target)}?cause=${encodeURIComponent(g.cause)}` }, "edit mapping") : null),
          h("td.count", `${g.count} deliver${g.count === 1 ? "y" : "ies"}`),
          h("td", h("a", { href: `#/messages${query({ target: g.target, status, reason: g.cause })}` }, "show"), " ",
            can("operator") ? bulkReplay({ target: g.target, status, reason: g.cause }, "Replay…") : null))))));
  };
  mount(view, h("h1", "Dead letters and parked deliveries"), h("p.muted", "Grouped by target and cause."),
    await section("dead", "Dead"), await section("parked", "Parked"));
}

export async function poView(view, po) {
  const form = h("form.filters", { onsubmit: (ev) => {
    ev.preventDefault();
    location.hash = `#/po/${encodeURIComponent(new FormData(form).get("po").trim())}`;
  } }, h("label", "PO number", h("input", { name: "po", value: po || "", required: true })), h("button.primary", { type: "submit" }, "Show"));
  mount(view, h("h1", "Purchase orders"), h("section.card", form));
  if (!po) return;
  let data;
  try { data = await get(`/api/v1/purchase-orders/${encodeURIComponent(po)}`); }
  catch (e) { if (e.status === 404) return view.append(h("p.err", `No purchase order ${po}.`)); throw e; }
  const events = [];
  for (const m of data.timeline) {
    events.push({ at: m.received_at, system: m.system, what: h("span", "received from ", h("strong", m.system), " ",
      h("a", { href: `#/message/${m.id}` }, (m.kinds || []).join(", ") || "message"), " ", stateChip(m.state)) });
    // Timeline items are summaries: each delivery's latest attempt and how many there were
    // (every attempt, with what was sent, is on the message's own page).
    for (const d of m.deliveries) {
      const a = d.last_attempt;
      if (!a) continue;
      events.push({ at: a.at, system: d.target, what: h("span", "sent to ", h("strong", d.target), " ", stateChip(a.outcome),
        a.status ? ` HTTP ${a.status}` : "", a.error ? h("span.err", ` ${a.error}`) : "", a.mapping_version ? h("span.muted", ` mapping ${a.mapping_version}`) : "",
        d.attempt_count > 1 ? h("span.muted", ` (attempt ${d.attempt_count})`) : "") });
    }
  }
  events.sort((a, b) => new Date(a.at) - new Date(b.at));
  const p = data.po;
  view.append(
    p ? h("section.card#po-summary", h("h2", `PO ${p.po_number} `, h("span.chip", p.status || "")),
      h("p", `${p.total ?? ""} ${p.currency ?? ""} · buyer ${p.buyer?.code ?? "?"} · supplier ${p.supplier?.code ?? "?"}`),
      h("p.muted", "Remote ids: ", JSON.stringify(p.remote_ids || {}))) : null,
    h("section.card", h("h2", "Timeline across systems"),
      data.timeline_total > data.timeline.length ? h("p.muted", `The latest ${data.timeline.length} of ${data.timeline_total} messages.`) : null,
      h("ol.timeline#timeline", events.map((e) => h("li", h("span.muted", when(e.at)), " ", e.what)))));
}
