// Messages: search with live counts, and the dead-and-parked causes. One message's page is
// message.js, purchase orders po.js, replays replay.js.
import { can, every, get, h, mount, query, stateChip, when, zoneName } from "./api.js";
import { bulkReplay } from "./replay.js";

export { messageView } from "./message.js";
export { poView } from "./po.js";

const STATES = ["received", "queued", "delivering", "delivered", "retrying", "parked", "dead", "rejected"];
const FILTERS = ["po_number", "message_id", "system", "target", "status", "since", "until", "reason"];

/** A typed time (ISO 8601; without a zone it is the browser's) as UTC ISO, "" if empty. */
function toIso(text) {
  if (!text || !text.trim()) return "";
  const d = new Date(text.trim());
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

/** Live counts: deliveries per state, and rejected messages (which have no delivery). */
async function counts(box) {
  try {
    const c = await get("/api/v1/stats/counts");
    const chip = (state, n, unit) => h("a.chip.state-" + state, { href: `#/messages?status=${state}`, "data-count": state,
      title: `${n} ${unit}${n === 1 ? "y" : "ies"} ${state}` }, `${state}: ${n}`);
    const deliveries = Object.entries(c).filter(([state]) => state !== "rejected");
    mount(box, h("span.chips-label", "Deliveries:"), deliveries.map(([state, n]) => chip(state, n, "deliver")),
      "rejected" in c ? [h("span.chips-label", "Messages:"), h("a.chip.state-rejected", { href: "#/messages?status=rejected",
        "data-count": "rejected" }, `rejected: ${c.rejected}`)] : null);
  } catch (e) { mount(box, h("span.err", `counts: ${e.message}`)); }
}

let systems = null;
/** The configured systems, for the System and Target choices (asked once per page load). */
async function configured() {
  if (!systems) systems = await get("/api/v1/systems").catch(() => ({ sources: [], targets: [] }));
  return systems;
}

const choices = (name, label, values, current) => h("label", label, h("select", { name },
  h("option", { value: "" }, "any"), values.map((v) => h("option", { value: v, selected: current === v }, v))));

/** The boxes as the replay sends them: the PO box matches the start; the state is a delivery's. */
function replayFilter(data) {
  const { po_number: po, ...rest } = data;
  return { ...rest, po_prefix: po };
}

/** The boxes as the search sends them: the state is the message's own, or with a target
 * chosen, that of its delivery to the target (what the State column then shows). */
function searchFilter(data) {
  const { status, ...out } = replayFilter(data);
  if (!status) return out;
  const messageOnly = status === "rejected" || status === "received";
  out[data.target && !messageOnly ? "status" : "message_state"] = status;
  return out;
}

/** ISO 8601 in and out (the browser's own date control would show its locale's format). */
function timeField(name, label, iso) {
  const input = h("input.time", { name, value: when(iso), size: 22, placeholder: `2026-12-01T09:30${zoneName()}`,
    title: `ISO 8601; without a zone it is ${zoneName()}`, oninput: () => input.classList.toggle("invalid", Boolean(input.value.trim()) && !toIso(input.value)) });
  return h("label", `${label} (ISO, e.g. …T09:30${zoneName()})`, input);
}

export async function messagesView(view, params) {
  const { sources, targets } = await configured();
  const field = (name, label, attrs = {}) => h("label", label, h("input", { name, value: params[name] || "", ...attrs }));
  const status = h("select", { name: "status" }, h("option", { value: "" }, "any"),
    STATES.map((s) => h("option", { value: s, selected: params.status === s }, s)));
  const stateLabel = h("span", params.target ? `State at target` : "State of the message");
  const form = h("form.filters#filters", { onsubmit: (ev) => {
    ev.preventDefault();
    location.hash = `#/messages${query(current())}`;
  } },
  field("po_number", "PO number (starts with, any case)"), field("message_id", "Message id (starts with)"),
  choices("system", "From system", sources, params.system), choices("target", "Target", targets, params.target),
  h("label", stateLabel, status), field("reason", "Reason contains"),
  timeField("since", "Since", params.since), timeField("until", "Until", params.until),
  h("button.primary", { type: "submit" }, "Search"));
  function current() {
    const data = Object.fromEntries(new FormData(form));
    data.since = toIso(data.since); data.until = toIso(data.until);
    return data;
  }
  // the replay acts on the boxes as they are when it is pressed, searched or not
  const replay = can("operator") ? bulkReplay(() => replayFilter(current())) : null;
  const changed = () => { stateLabel.textContent = form.elements.target.value ? "State at target" : "State of the message"; replay?.reset(); };
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  const chips = h("div.chips#counts");
  const results = h("div#results", h("p.muted", "Loading…"));
  const filter = Object.fromEntries(FILTERS.filter((k) => params[k]).map((k) => [k, params[k]]));
  mount(view, h("h1", "Messages"), chips, h("section.card", form, replay), results);
  counts(chips);
  every(5000, () => counts(chips), chips);
  const offset = Number(params.offset || 0);
  const page = await get(`/api/v1/messages${query({ ...searchFilter(filter), offset, limit: 50 })}`);
  const open = (m) => { location.hash = `#/message/${m.id}`; };
  const stateOf = (m) => {
    if (!filter.target || m.state === "rejected") return m.state;
    return m.deliveries.find((d) => d.target === filter.target)?.state || m.state;
  };
  const rows = page.items.map((m) => h("tr.link", { "data-id": m.id, tabindex: 0, role: "link",
    "aria-label": `message ${m.id}${m.po_number ? `, PO ${m.po_number}` : ""}, ${stateOf(m)}`,
    onclick: () => open(m), onkeydown: (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); open(m); } } },
    h("td", when(m.received_at)), h("td.po", m.po_number || ""), h("td", m.system), h("td.state", stateChip(stateOf(m))),
    h("td", m.state === "rejected"
      ? h("span.err.rejected-reason", `Rejected: ${m.error || "no reason recorded"}`, m.error_path ? ` at ${m.error_path}` : "")
      : m.deliveries.map((d) => h("span.chip.state-" + d.state, `${d.target}: ${d.state}`))),
    h("td.muted.mid", h("code", m.id.slice(-10)))));
  const more = (delta) => { location.hash = `#/messages${query({ ...filter, offset: Math.max(0, offset + delta) })}`; };
  mount(results, h("p.muted.total", `${page.total} message${page.total === 1 ? "" : "s"} (one row each; its deliveries, one per target, on the right), newest first`),
    h("table#messages", h("thead", h("tr", ["Received", "PO", "From", filter.target ? `State at ${filter.target}` : "State",
      "Deliveries / reason", "Message id (end)"].map((t) => h("th", t)))), h("tbody", rows)),
    h("p", offset > 0 ? h("button", { type: "button", onclick: () => more(-50) }, "Newer") : null,
      offset + page.items.length < page.total ? h("button", { type: "button", onclick: () => more(50) }, "Older") : null));
}

export async function problemsView(view) {
  const section = async (status, title) => {
    const groups = await get(`/api/v1/stats/causes?status=${status}`);
    const total = groups.reduce((n, g) => n + g.count, 0);
    return h(`section.card#${status}`, h("h2", `${title} (${total} deliver${total === 1 ? "y" : "ies"})`),
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
