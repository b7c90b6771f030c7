// Purchase orders: the list (search by the start of the number, any case) and one PO's
// summary and timeline, one entry per event with what was sent where under it.
import { ApiError, get, h, mount, query, stateChip, when } from "./api.js";

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
const event = (kinds) => (kinds && kinds.length ? kinds.map((k) => k.replace(/_/g, " ")).join(", ") : "message");

function searchForm(value) {
  const form = h("form.filters#po-search", { onsubmit: (ev) => {
    ev.preventDefault();
    const text = new FormData(form).get("po").trim();
    location.hash = `#/po${query({ prefix: text })}`;
  } }, h("label", "PO number (starts with, any case)", h("input", { name: "po", value: value || "" })),
  h("button.primary", { type: "submit" }, "Find"));
  return form;
}

export async function poListView(view, params) {
  const offset = Number(params.offset || 0);
  const results = h("div#po-results", h("p.muted", "Loading…"));
  mount(view, h("h1", "Purchase orders"), h("section.card", searchForm(params.prefix)), results);
  const page = await get(`/api/v1/purchase-orders${query({ prefix: params.prefix, offset, limit: 50 })}`);
  const more = (delta) => { location.hash = `#/po${query({ prefix: params.prefix, offset: Math.max(0, offset + delta) })}`; };
  mount(results,
    h("p.muted.total", `${plural(page.total, "purchase order", "purchase orders")}, latest activity first`),
    page.items.length ? h("table#po-list", h("thead", h("tr", ["PO number", "Status", "Messages", "Latest message"].map((t) => h("th", t)))),
      h("tbody", page.items.map((p) => h("tr", { "data-po": p.po_number },
        h("td", h("a", { href: `#/po/${encodeURIComponent(p.po_number)}` }, p.po_number)),
        h("td", p.status ? h("span.chip", p.status) : h("span.muted", "no state held")),
        h("td", p.messages), h("td", when(p.last_received_at))))))
      : h("p.muted#no-pos", params.prefix ? `No purchase order starts with "${params.prefix}".` : "No purchase orders yet."),
    h("p", offset > 0 ? h("button", { type: "button", onclick: () => more(-50) }, "Newer") : null,
      offset + page.items.length < page.total ? h("button", { type: "button", onclick: () => more(50) }, "Older") : null));
}

function party(label, p) {
  if (!p || !(p.code || p.name)) return null;
  return `${label} ${[p.code, p.name && p.name !== p.code ? `(${p.name})` : ""].filter(Boolean).join(" ")}`;
}

function summary(p) {
  const has = (x) => x !== null && x !== undefined && x !== "";
  const money = has(p.total) ? `total ${p.total}${has(p.currency) ? ` ${p.currency}` : ""}` : has(p.currency) ? `currency ${p.currency}` : "";
  const facts = [money, party("buyer", p.buyer), party("supplier", p.supplier)].filter(Boolean);
  const remote = Object.entries(p.remote_ids || {});
  return h("section.card#po-summary", h("h2", `PO ${p.po_number} `, p.status ? h("span.chip.po-status", p.status) : null),
    facts.length ? h("p.po-facts", facts.join(" · ")) : null,
    h("h3", "Known in other systems as"),
    remote.length ? h("table.remote-ids", h("tbody", remote.map(([system, id]) => h("tr", h("th", system), h("td", h("code", String(id)))))))
      : h("p.muted.remote-ids", "no remote ids learnt yet"));
}

/** One event (message) and, under it, what became of it at each target. */
function timelineEntry(m) {
  const head = h("div.event-head", h("time", { datetime: m.received_at }, when(m.received_at)), " ",
    h("strong.event-kind", event(m.kinds)), ` from ${m.system} `, stateChip(m.state), " ",
    h("a", { href: `#/message/${m.id}` }, "message ", h("code", m.id.slice(-10))));
  if (m.state === "rejected") {
    return h("li.event", { "data-message": m.id }, head, h("p.err", `Rejected: ${m.error || "no reason recorded"}`));
  }
  return h("li.event", { "data-message": m.id }, head, h("ul.sent", m.deliveries.map((d) => {
    const a = d.last_attempt;
    const bits = [a?.status ? `HTTP ${a.status}` : null, d.attempt_count ? plural(d.attempt_count, "attempt", "attempts") : "not tried yet",
      a ? `latest ${when(a.at)}` : null].filter(Boolean);
    return h("li.sent-to", { "data-target": d.target }, `sent to ${d.target} `, stateChip(d.state), " ", h("span.muted", bits.join(" · ")),
      d.reason ? h("span.err", ` ${d.reason}`) : "");
  })));
}

export async function poView(view, po) {
  if (!po) return poListView(view, {});
  mount(view, h("h1", "Purchase orders"), h("section.card", searchForm("")), h("p", h("a", { href: "#/po" }, "All purchase orders")));
  let data;
  try { data = await get(`/api/v1/purchase-orders/${encodeURIComponent(po)}`); } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      return view.append(h("section.card#no-po", h("h2", "No such PO"),
        h("p.err", `The hub has no purchase order "${po}": no message and no state.`),
        h("p", h("a", { href: `#/po${query({ prefix: po })}` }, `POs starting with "${po}"`))));
    }
    throw e;
  }
  view.append(
    data.po ? summary(data.po) : h("section.card#po-summary", h("h2", `PO ${po}`),
      h("p.muted", "The hub holds no state for this PO (its messages are below).")),
    h("section.card", h("h2", "Timeline: one entry per event, what was sent where under it"),
      data.timeline_total > data.timeline.length ? h("p.muted", `The latest ${data.timeline.length} of ${data.timeline_total} messages.`) : null,
      h("ol.timeline#timeline", data.timeline.map(timelineEntry))));
}
