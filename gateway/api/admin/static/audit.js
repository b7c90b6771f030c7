// The audit log: every manual action with who (the key's name and role) and when, newest
// first, and its export as CSV or JSON.
import { api, h, mount, query, toast, when } from "./api.js";

async function download(format) {
  try {
    const data = await api("GET", `/api/v1/audit?format=${format}`);
    const text = typeof data === "string" ? data : JSON.stringify(data, null, 2);
    const type = format === "csv" ? "text/csv" : "application/json";
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = h("a", { href: url, download: `pohub-audit.${format}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) { toast(e.message, true); }
}

export async function auditView(view, params) {
  const offset = Number(params.offset || 0);
  const page = await api("GET", `/api/v1/audit${query({ offset, limit: 100 })}`);
  const more = (delta) => { location.hash = `#/audit${query({ offset: Math.max(0, offset + delta) })}`; };
  mount(view, h("h1", "Audit log"),
    h("p.muted", "Every manual action: replays, mapping changes and any other change made through the API, with who and when. ",
      "Newest first."),
    h("p", h("button.export-csv", { type: "button", onclick: () => download("csv") }, "Export CSV"), " ",
      h("button.export-json", { type: "button", onclick: () => download("json") }, "Export JSON")),
    h("section.card", h("p.muted.total", `${page.total} entr${page.total === 1 ? "y" : "ies"}`),
      page.items.length ? h("table#audit", h("thead", h("tr", ["When", "Who", "Action", "What", "Outcome"].map((t) => h("th", t)))),
        h("tbody", page.items.map((e) => h("tr.audit-entry", { "data-action": e.action },
          h("td.at", h("time", { datetime: e.at }, when(e.at))), h("td.who", `${e.actor} · ${e.role}`),
          h("td.action", h("code", e.action)), h("td.subject", e.detail?.message_id
            ? h("a", { href: `#/message/${encodeURIComponent(e.detail.message_id)}` }, e.subject) : e.subject), h("td.outcome", e.outcome))))) : h("p.muted", "Nothing yet."),
      h("p", offset > 0 ? h("button", { type: "button", onclick: () => more(-100) }, "Newer") : null,
        offset + page.items.length < page.total ? h("button", { type: "button", onclick: () => more(100) }, "Older") : null)));
}
