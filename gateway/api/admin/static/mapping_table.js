// One mapping table (a crosswalk, a status level, units, defaults) as a lookup table with
// named columns, a search box, choices where the system allows only some values, and CSV
// export/import: the way Stedi's lookup tables work, for tables of thousands of rows.
import { h, toast } from "./api.js";
import { parseCsv, toCsv } from "./csv.js";

const show = (v) => (typeof v === "string" ? v : JSON.stringify(v));
/** Text typed for a value -> the value: text, unless the stored value was not text (defaults
 * hold numbers, booleans and null, typed as JSON). */
export function parseValue(text, orig) {
  if (orig === undefined || typeof orig === "string") return text;
  try { return JSON.parse(text); } catch { return text; }
}

let lists = 0;
function datalist(choices) {
  if (!choices?.length) return [null, null];
  const id = `choices-${++lists}`;
  return [id, h(`datalist#${id}`, choices.map((c) => h("option", { value: c })))];
}

/**
 * path: "crosswalks.vendor"; object: its rows; columns: [key label, value label];
 * keyChoices / valueChoices: offered (datalist); note: the rule shown under the table.
 */
export function lookupTable({ path, object, columns, keyChoices, valueChoices, note, unique = false,
  readOnly, onChange, fileName }) {
  const t = { path, unique, rows: [], body: h("tbody") };
  const [keyList, keyDl] = datalist(keyChoices);
  const [valList, valDl] = datalist(valueChoices);
  const tableErr = h("p.err.table-error");
  const count = h("span.muted.row-count");
  const search = h("input.table-search", { type: "search", placeholder: `Search ${path}`, "aria-label": `Search ${path}`,
    oninput: () => filter() });

  function filter() {
    const q = search.value.trim().toLowerCase();
    let shown = 0;
    for (const r of t.rows) {
      const hit = !q || r.key.value.toLowerCase().includes(q) || r.val.value.toLowerCase().includes(q);
      r.tr.hidden = !hit;
      shown += hit;
    }
    const n = t.rows.length;
    count.textContent = q ? `${shown} of ${n} rows` : `${n} row${n === 1 ? "" : "s"}`;
  }

  t.addRow = (k = "", v = "", orig = undefined, bulk = false) => {
    const r = { orig };
    r.key = h("input.k", { value: k, "aria-label": `${path} ${columns[0]}`, disabled: readOnly, list: keyList,
      oninput: () => { r.tr.dataset.key = r.key.value.trim(); onChange(); } });
    r.val = h("input.v", { value: v, "aria-label": `${path} ${columns[1]}`, disabled: readOnly, list: valList, oninput: onChange });
    r.err = h("td.err");
    r.tr = h("tr", { dataset: { key: k } }, h("td", r.key), h("td", r.val), r.err,
      readOnly ? null : h("td.act", h("button.delete-row", { type: "button", title: "Delete row", onclick: () => {
        t.rows.splice(t.rows.indexOf(r), 1); r.tr.remove(); filter(); onChange();
      } }, "Delete")));
    t.rows.push(r);
    t.body.append(r.tr);
    if (!bulk) filter(); // once per batch, not per row: 10,000 rows must not cost 10,000 scans
    return r;
  };
  for (const [k, v] of Object.entries(object || {})) t.addRow(k, show(v), v, true);

  t.collect = () => Object.fromEntries(t.rows.map((r) => [r.key.value.trim(), parseValue(r.val.value, r.orig)]));
  t.rowFor = (key) => t.rows.find((r) => r.key.value.trim() === key);
  t.setTableError = (text) => { tableErr.textContent = text || ""; };

  function exportCsv() {
    const text = toCsv([columns, ...t.rows.map((r) => [r.key.value.trim(), r.val.value])]);
    const a = h("a", { href: URL.createObjectURL(new Blob([text], { type: "text/csv" })), download: `${fileName}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }
  const file = h("input.csv-file", { type: "file", accept: ".csv,text/csv", hidden: true, "aria-label": `Import CSV into ${path}`,
    onchange: async () => {
      const chosen = file.files[0];
      if (!chosen) return;
      try {
        const rows = parseCsv(await chosen.text());
        if (rows.length && rows[0][0] === columns[0] && rows[0][1] === columns[1]) rows.shift();
        const bad = rows.findIndex((r) => r.length !== 2);
        if (bad >= 0) throw new Error(`row ${bad + 2}: ${rows[bad].length} cells, a table row has 2 (${columns.join(", ")})`);
        const before = new Map(t.rows.map((r) => [r.key.value.trim(), r.orig]));
        for (const r of [...t.rows]) r.tr.remove();
        t.rows.length = 0;
        for (const [k, v] of rows) t.addRow(k, v, before.get(k), true);
        filter();
        toast(`Imported ${rows.length} rows into ${path} (they replace the table; save the draft to keep them).`);
        onChange();
      } catch (e) {
        toast(`CSV not imported into ${path}: ${e.message}`, true);
      } finally { file.value = ""; }
    } });

  t.el = h("div.kv-wrap", { "data-table": path },
    h("div.table-tools", search, count,
      h("button.export-csv", { type: "button", onclick: exportCsv }, "Export CSV"),
      readOnly ? null : [h("button.import-csv", { type: "button", onclick: () => file.click() }, "Import CSV…"), file]),
    note ? h("p.muted.table-note", note) : null,
    tableErr,
    h("table.kv", h("thead", h("tr", h("th", columns[0]), h("th", columns[1]), h("th", ""), readOnly ? null : h("th", ""))), t.body),
    keyDl, valDl,
    readOnly ? null : h("button.add-row", { type: "button", onclick: () => { t.addRow().key.focus(); onChange(); } }, "Add row"));
  filter();
  return t;
}
