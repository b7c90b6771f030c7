// Mappings: a system's statuses, crosswalks, units and defaults as editable tables, validated
// as you type, previewed live against a chosen sample; versions, diffs and rollback.
import { ApiError, can, get, h, mount, post, pretty, put, query, toast, when } from "./api.js";

const LEVELS = ["document", "line", "schedule", "inbound"];
const enc = encodeURIComponent;

function list(x, key) {
  if (Array.isArray(x)) return x;
  if (x && typeof x === "object") {
    for (const k of [key, "items", "mappings", "versions", "systems"]) if (Array.isArray(x[k])) return x[k];
    return Object.entries(x).map(([system, v]) => ({ system, ...(typeof v === "object" ? v : {}) }));
  }
  return [];
}
const show = (v) => (typeof v === "string" ? v : JSON.stringify(v));
function parseValue(text, orig) {
  if (orig === undefined || typeof orig === "string") return text;
  try { return JSON.parse(text); } catch { return text; }
}

export async function mappingsView(view, system) {
  let systems;
  try { systems = list(await get("/api/v1/mappings"), "mappings").map((m) => (typeof m === "string" ? m : m.system)); }
  catch (e) {
    if (e instanceof ApiError && e.status === 404) return mount(view, h("h1", "Mappings"), h("p.err", "The mappings API is not available on this hub."));
    throw e;
  }
  const side = h("nav.sidebar#systems", systems.map((s) => h("a", { href: `#/mappings/${enc(s)}`, class: s === system ? "active" : null }, s)));
  const main = h("div#mapping");
  mount(view, h("h1", "Mappings"), h("div.row", side, main));
  if (!system) return mount(main, h("p.muted", "Choose a system."));
  await editor(main, system);
}

async function editor(main, system) {
  const current = await get(`/api/v1/mappings/${enc(system)}`);
  const readOnly = !can("admin");
  const tables = [];
  const errorsBox = h("div.err#mapping-errors");
  const save = h("button.primary#save", { type: "button", disabled: true }, "Save new version");
  const comment = h("input#comment", { placeholder: "What changed and why", size: 40 });
  let dirty = false;
  let previewTimer = null;

  function validate() {
    let bad = 0;
    for (const t of tables) {
      const keys = new Map(), values = new Map();
      for (const r of t.rows) {
        const problems = [];
        const k = r.key.value.trim(), v = r.val.value;
        if (!k) problems.push("key required");
        else if (keys.has(k)) problems.push(`duplicate key ${k}`);
        if (v.trim() === "") problems.push("value required");
        else if (t.unique && values.has(v)) problems.push(`must read back uniquely: ${values.get(v)} also maps to ${v}`);
        keys.set(k, true);
        if (!values.has(v)) values.set(v, k);
        r.key.classList.toggle("invalid", problems.some((p) => p.includes("key")));
        r.val.classList.toggle("invalid", problems.some((p) => !p.includes("key") || p.startsWith("must")));
        r.err.textContent = problems.join("; ");
        bad += problems.length;
      }
    }
    save.disabled = readOnly || bad > 0 || !dirty;
    return bad;
  }
  function changed() {
    dirty = true;
    validate();
    clearTimeout(previewTimer);
    previewTimer = setTimeout(runPreview, 400);
  }

  function kvTable(path, object, { unique = false } = {}) {
    const t = { path, unique, rows: [], body: h("tbody") };
    const addRow = (k = "", v = "", orig = undefined) => {
      const r = { orig };
      r.key = h("input.k", { value: k, "aria-label": `${path} key`, disabled: readOnly, oninput: changed });
      r.val = h("input.v", { value: v, "aria-label": `${path} value`, disabled: readOnly, oninput: changed });
      r.err = h("td.err");
      r.tr = h("tr", h("td", r.key), h("td", r.val), r.err,
        readOnly ? null : h("td.act", h("button.delete-row", { type: "button", title: "Delete row", onclick: () => {
          t.rows.splice(t.rows.indexOf(r), 1); r.tr.remove(); changed();
        } }, "Delete")));
      t.rows.push(r);
      t.body.append(r.tr);
      return r;
    };
    for (const [k, v] of Object.entries(object || {})) addRow(k, show(v), v);
    tables.push(t);
    t.collect = () => Object.fromEntries(t.rows.map((r) => [r.key.value.trim(), parseValue(r.val.value, r.orig)]));
    return h("div.kv-wrap", { "data-table": path },
      h("table.kv", h("thead", h("tr", h("th", "Key"), h("th", "Value"), h("th", ""), readOnly ? null : h("th", ""))), t.body),
      readOnly ? null : h("button.add-row", { type: "button", onclick: () => { addRow().key.focus(); changed(); } }, "Add row"));
  }

  const m = current.mapping;
  const description = h("input#description", { value: m.description || "", size: 60, disabled: readOnly, oninput: changed });
  const timezone = h("input#timezone", { value: m.timezone || "", disabled: readOnly, oninput: changed });
  const unitDefault = h("input#unit-default", { value: m.units?.default || "", disabled: readOnly, oninput: changed });
  const crosswalkBox = h("div#crosswalks");
  const addCrosswalk = (name, rows) => crosswalkBox.append(h("h3", `crosswalks.${name}`), kvTable(`crosswalks.${name}`, rows));
  for (const [name, rows] of Object.entries(m.crosswalks || {})) addCrosswalk(name, rows);
  const newTable = h("input#new-table", { placeholder: "new table name" });

  const collect = () => {
    const out = JSON.parse(JSON.stringify(m));
    out.description = description.value; out.timezone = timezone.value;
    out.statuses = {}; out.crosswalks = {}; out.units = { ...(m.units || {}), default: unitDefault.value || null };
    for (const t of tables) {
      const [group, name] = t.path.split(".");
      if (group === "statuses") out.statuses[name] = t.collect();
      else if (group === "crosswalks") out.crosswalks[name] = t.collect();
      else if (group === "units") out.units.map = t.collect();
      else if (group === "defaults") out.defaults = t.collect();
    }
    return out;
  };

  // live preview against a chosen sample (a recent message from another system)
  const recent = (await get(`/api/v1/messages${query({ limit: 40 })}`)).items.filter((x) => x.system !== system && x.state !== "rejected");
  const sample = h("select#sample", { onchange: runPreview }, h("option", { value: "" }, "choose a sample…"),
    h("option", { value: "parked" }, `parked and dead deliveries to ${system}`),
    recent.map((x, i) => h("option", { value: String(i) }, `${x.system} ${x.po_number || ""} (${x.id.slice(0, 8)})`)));
  const previewBox = h("div#preview");
  async function runPreview() {
    if (sample.value === "") return mount(previewBox, h("p.muted", "Choose a sample to preview what this mapping renders."));
    const body = sample.value === "parked" ? { mapping: collect(), parked: true }
      : { mapping: collect(), message_id: recent[Number(sample.value)].id };
    try {
      const out = await post(`/api/v1/mappings/${enc(system)}/preview`, body);
      if (!out.results.length) return mount(previewBox, h("p.muted", "Nothing to preview: no parked or dead deliveries to this system."));
      mount(previewBox, out.results.map((r) => h("div.preview-result",
        h("h3", r.label), r.error ? h("p.err", r.error) : null,
        r.missing?.length ? h("p.err.missing", "Missing rows: ", r.missing.map((x) => `${x.table}[${x.key}]`).join(", ")) : null,
        r.changes?.length ? h("table.changes", h("thead", h("tr", h("th", "Path"), h("th", "Live"), h("th", "Edited"))),
          h("tbody", r.changes.map((c) => h("tr", h("td", c.path), h("td", show(c.from)), h("td", show(c.to)))))) : h("p.muted", "Same output as the live mapping."),
        h("pre", pretty(r.output)))));
    } catch (e) {
      const errs = e.body?.errors;
      mount(previewBox, errs ? h("ul.err", errs.map((x) => h("li", `${x.path}: ${x.message}`))) : h("p.err", e.message));
    }
  }

  save.addEventListener("click", async () => {
    if (validate()) return;
    try {
      const r = await put(`/api/v1/mappings/${enc(system)}`, { mapping: collect(), comment: comment.value });
      toast(`Saved ${system} version ${r.version}; ${r.requeued ?? 0} parked deliveries re-queued.`);
      await mappingsView(document.getElementById("view"), system);
      document.getElementById("saved")?.replaceChildren(`Saved version ${r.version}.`);
    } catch (e) {
      const errs = e.body?.errors;
      mount(errorsBox, errs ? h("ul", errs.map((x) => h("li", `${x.path}: ${x.message}`))) : e.message);
    }
  });

  mount(main,
    h("section.card", h("h2", `${system} `, h("span.muted#version", `version ${current.version}`)),
      h("p.muted", `by ${current.author || "?"} · ${when(current.time)} · ${current.comment || ""}`),
      readOnly ? h("p.muted#read-only", "Read only: editing mappings needs the admin role.") : null,
      h("div.filters", h("label", "Description", description), h("label", "Timezone", timezone))),
    h("div.row",
      h("div", h("section.card", h("h2", "Crosswalks"), crosswalkBox,
        readOnly ? null : h("p", newTable, " ", h("button#add-table", { type: "button", onclick: () => {
          const name = newTable.value.trim();
          if (!name || tables.some((t) => t.path === `crosswalks.${name}`)) return toast("Give the table a new name.", true);
          addCrosswalk(name, {}); newTable.value = ""; changed();
        } }, "Add table"))),
      h("section.card", h("h2", "Defaults"), kvTable("defaults", m.defaults)),
      h("section.card", h("h2", "Units"), h("label", "Default unit", unitDefault), kvTable("units.map", m.units?.map)),
      h("section.card", h("h2", "Statuses"), LEVELS.map((l) => [h("h3", `statuses.${l}`), kvTable(`statuses.${l}`, m.statuses?.[l])]))),
      h("div", h("section.card", h("h2", "Live preview"), h("label", "Sample", sample), previewBox),
        readOnly ? null : h("section.card", h("h2", "Save"), h("p", comment, " ", save), h("p.muted#saved"), errorsBox),
        await versions(system, current))));
  validate();
  runPreview();
}

async function versions(system, current) {
  let items;
  try { items = list(await get(`/api/v1/mappings/${enc(system)}/versions`), "versions"); }
  catch (e) { return h("section.card", h("h2", "Versions"), h("p.err", e.message)); }
  const opts = (sel) => items.map((v) => h("option", { value: v.version, selected: sel === v.version }, `${v.version} ${when(v.time)}`));
  const from = h("select#diff-from", opts(items[1]?.version ?? items[0]?.version));
  const to = h("select#diff-to", opts(current.version));
  const diffBox = h("div#diff");
  const rollbackComment = h("input#rollback-comment", { placeholder: "why roll back", size: 24 });
  const diff = async () => {
    const d = await get(`/api/v1/mappings/${enc(system)}/diff${query({ from_version: from.value, to_version: to.value })}`);
    mount(diffBox, d.changes.length ? h("table.diff", h("thead", h("tr", h("th", "Path"), h("th", "From"), h("th", "To"))),
      h("tbody", d.changes.map((c) => h("tr", h("td", c.path), h("td.from", c.from === undefined || c.from === null ? "—" : show(c.from)),
        h("td.to", c.to === undefined || c.to === null ? "—" : show(c.to)))))) : h("p.muted", "No differences."));
  };
  return h("section.card#versions", h("h2", "Versions"),
    h("table", h("thead", h("tr", ["Version", "Time", "Author", "Comment", ""].map((t) => h("th", t)))),
      h("tbody", items.map((v) => h("tr.version", h("td", v.version === current.version ? h("strong", v.version) : v.version),
        h("td", when(v.time)), h("td", v.author || ""), h("td", v.comment || ""),
        h("td", can("admin") && v.version !== current.version ? h("button.rollback", { type: "button", onclick: async () => {
          try {
            const r = await post(`/api/v1/mappings/${enc(system)}/rollback`, { version: v.version, comment: rollbackComment.value || `rollback to ${v.version}` });
            toast(`Rolled back to ${v.version} (now version ${r.version ?? "?"}).`);
            await mappingsView(document.getElementById("view"), system);
          } catch (e) { toast(e.message, true); }
        } }, "Roll back to this") : null))))),
    can("admin") ? h("p", rollbackComment) : null,
    h("h3", "Diff"), h("p", "from ", from, " to ", to, " ", h("button#show-diff", { type: "button", onclick: () => diff().catch((e) => toast(e.message, true)) }, "Show diff")),
    diffBox);
}
