// Mappings: edit a system's mapping as a draft (nothing goes live), review its impact (diff
// against live, outputs of the parked and dead deliveries, how many it releases), then
// publish it as the next version. Rollback loads an old version into the draft and shows the
// same review. Values are checked as you type by the server's rules (/validate); unsaved
// edits are guarded when leaving.
import { ApiError, api, can, get, h, mount, post, put, query, toast, unsaved, when } from "./api.js";
import { lookupTable } from "./mapping_table.js";
import { PAGE, changesTable, impactText, pagedResults, pager, resultCard } from "./mapping_review.js";

const LEVELS = ["document", "line", "schedule", "inbound"];
const enc = encodeURIComponent;
const UNSAVED = "The mapping has unsaved edits. Leave and lose them?";

window.addEventListener("beforeunload", (ev) => {
  if (!unsaved.message) return;
  ev.preventDefault();
  ev.returnValue = "";
});

function list(x, key) {
  if (Array.isArray(x)) return x;
  if (x && Array.isArray(x[key])) return x[key];
  return [];
}

/** "mapping missing: appliqloud table 'crosswalks.vendor' has no entry for 'X' at $.y" ->
 * {table, key} (the text core/errors.py MappingMissing writes). */
export function parseCause(cause) {
  const m = /table '([^']+)' has no entry for (?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")/.exec(cause || "");
  if (!m) return null;
  const key = (m[2] ?? m[3]).replace(/\\(.)/g, "$1");
  return { table: m[1], key };
}

function hashParams() {
  const search = location.hash.split("?")[1] || "";
  return Object.fromEntries(new URLSearchParams(search));
}

export async function mappingsView(view, system) {
  unsaved.message = null;
  let systems;
  try { systems = list(await get("/api/v1/mappings")).map((m) => (typeof m === "string" ? m : m.system)); }
  catch (e) {
    if (e instanceof ApiError && e.status === 404) return mount(view, h("h1", "Mappings"), h("p.err", "The mappings API is not available on this hub."));
    throw e;
  }
  const side = h("nav.sidebar#systems", systems.map((s) => h("a", { href: `#/mappings/${enc(s)}`, class: s === system ? "active" : null }, s)));
  const main = h("div#mapping");
  mount(view, h("h1", "Mappings"), h("div.row", side, main));
  if (!system) return mount(main, h("p.muted", "Choose a system."));
  const cause = parseCause(hashParams().cause);
  await editor(main, system, { cause });
}

async function getDraft(system) {
  try { return await get(`/api/v1/mappings/${enc(system)}/draft`); }
  catch (e) { if (e instanceof ApiError && e.status === 404) return null; throw e; }
}

async function editor(main, system, { cause = null, review: openReview = false } = {}) {
  const base = `/api/v1/mappings/${enc(system)}`;
  const [live, draft, rules] = await Promise.all([get(base), getDraft(system), get(`${base}/rules`)]);
  const readOnly = !can("admin");
  const working = draft ? draft.mapping : live.mapping;
  let revision = draft ? draft.revision : 0;
  let hasDraft = Boolean(draft);
  const tables = [];
  const errorsBox = h("div.err#mapping-errors");
  const newCodesBox = h("div#new-codes");
  const save = h("button.primary#save", { type: "button", disabled: true }, "Save draft");
  const reviewBtn = h("button#review", { type: "button", disabled: !draft }, "Review and publish…");
  const discard = h("button#discard", { type: "button", disabled: !draft }, "Discard draft");
  const comment = h("input#comment", { placeholder: "What changed and why", size: 40, value: draft?.comment || "" });
  const savedNote = h("p.muted#saved");
  const reviewBox = h("section.card#review-panel", { hidden: true });
  let dirty = false, checkTimer = null, previewTimer = null, serverErrors = 0;

  // --- checking: structure here, every value rule on the server --------------------------
  function structural() {
    let bad = 0;
    for (const t of tables) {
      const keys = new Set(), values = new Map();
      for (const r of t.rows) {
        const problems = [];
        const k = r.key.value.trim(), v = r.val.value;
        if (!k) problems.push("key required");
        else if (keys.has(k)) problems.push(`duplicate key ${k}`);
        if (t.unique && v && values.has(v)) problems.push(`must read back uniquely: ${values.get(v)} also maps to ${v}`);
        keys.add(k);
        if (!values.has(v)) values.set(v, k);
        r.local = problems;
        bad += problems.length;
      }
    }
    return bad;
  }
  function paint() {
    for (const t of tables) for (const r of t.rows) {
      const all = [...(r.local || []), ...(r.server || [])];
      r.err.textContent = all.join("; ");
      r.key.classList.toggle("invalid", all.some((p) => p.includes("key")));
      r.val.classList.toggle("invalid", all.length > 0 && !all.every((p) => p.includes("key")));
    }
  }
  function refresh() {
    const bad = structural();
    paint();
    save.disabled = readOnly || bad > 0 || serverErrors > 0 || !dirty;
    reviewBtn.disabled = readOnly ? !hasDraft : bad > 0 || serverErrors > 0 || (!dirty && !hasDraft);
    return bad;
  }
  function rowPath(t, key) { return `$.${t.path}.${key}`; }
  function showServerErrors(errors) {
    for (const t of tables) { for (const r of t.rows) r.server = []; t.setTableError(""); }
    for (const f of [description, timezone, unitDefault]) f.classList.remove("invalid");
    const loose = [];
    for (const e of errors) {
      const text = `${e.message} (rule: ${e.rule || "schema"})`;
      let placed = false;
      for (const t of tables) {
        if (e.path === `$.${t.path}`) { t.setTableError(`${e.path}: ${text}`); placed = true; break; }
        const r = t.rows.find((x) => { const p = rowPath(t, x.key.value.trim()); return e.path === p || e.path.startsWith(`${p}.`) || e.path.startsWith(`${p}[`); });
        if (r) { r.server.push(text); placed = true; break; }
      }
      const field = { "$.description": description, "$.timezone": timezone, "$.units.default": unitDefault }[e.path];
      if (field) field.classList.add("invalid");
      if (!placed) loose.push(h("li", `${e.path}: ${text}`));
    }
    serverErrors = errors.length;
    mount(errorsBox, loose.length ? h("ul", loose) : null);
    refresh();
  }
  async function check() {
    if (structural()) return refresh();
    try {
      const out = await post(`${base}/validate`, { mapping: collect() });
      showServerErrors(out.errors);
      mount(newCodesBox, out.new_status_codes.length ? h("p.warn", `New status codes (not in ${system}'s document or the live mapping): ${out.new_status_codes.join(", ")}. ${rules.statuses.source}; check them with ${system} before publishing.`) : null);
    } catch (e) { mount(errorsBox, e.message); }
  }
  function changed() {
    dirty = true;
    unsaved.message = UNSAVED;
    savedNote.textContent = "Unsaved edits.";
    refresh();
    clearTimeout(checkTimer); checkTimer = setTimeout(check, 250);
    clearTimeout(previewTimer); previewTimer = setTimeout(runPreview, 500);
  }

  // --- tables -----------------------------------------------------------------------------
  const codes = rules.statuses;
  const statusNote = codes.closed
    ? `Choices only: ${codes.choices.join(", ")} (from ${codes.source}).`
    : `${codes.source}; choices offered: ${codes.choices.join(", ") || "none yet"}. A new code is accepted and pointed out in the review.`;
  function table(path, object, columns, extra = {}) {
    const t = lookupTable({ path, object, columns, readOnly, onChange: changed, fileName: `${system}-${path}`, ...extra });
    tables.push(t);
    return t;
  }
  const m = working;
  const description = h("input#description", { value: m.description ?? "", size: 60, disabled: readOnly, oninput: changed });
  const timezone = h("input#timezone", { value: m.timezone ?? "", disabled: readOnly, oninput: changed });
  const unitDefault = h("input#unit-default", { value: m.units?.default ?? "", disabled: readOnly, oninput: changed });
  const crosswalkBox = h("div#crosswalks");
  const crosswalkTable = (name, rows) => {
    const spec = rules.crosswalks[name];
    const [hub, theirs] = (spec?.description || `hub key -> ${system} id`).split("->").map((s) => s.trim());
    const note = spec ? `${spec.description}.${spec.choices ? ` Choices: ${spec.choices.join(", ")}.` : ` ${spec.id_format}.`}` : `${system} reads no table '${name}'.`;
    const t = table(`crosswalks.${name}`, rows, [hub || "Hub key", (theirs || `${system} id`).split(" (")[0]], { valueChoices: spec?.choices, note });
    crosswalkBox.append(h("h3", `crosswalks.${name}`), t.el);
    return t;
  };
  for (const [name, rows] of Object.entries(m.crosswalks || {})) crosswalkTable(name, rows);
  const newTable = h("select#new-table", h("option", { value: "" }, "add a table…"),
    Object.keys(rules.crosswalks).filter((n) => !(n in (m.crosswalks || {}))).map((n) => h("option", { value: n }, n)));
  const statusTables = LEVELS.filter((l) => l === "inbound" || codes.levels.includes(l) || Object.keys(m.statuses?.[l] || {}).length)
    .map((l) => {
      const inbound = l === "inbound";
      const t = table(`statuses.${l}`, m.statuses?.[l], inbound ? [`${system} code`, "Canonical status"] : ["Canonical status", `${system} code`],
        inbound ? { keyChoices: codes.choices, valueChoices: rules.canonical_statuses, note: statusNote }
          : { keyChoices: rules.canonical_statuses, valueChoices: codes.choices, note: statusNote });
      return [h("h3", `statuses.${l}`), t.el];
    });
  const defaultsTable = table("defaults", m.defaults, ["Setting", "Value"],
    { keyChoices: Object.keys(rules.defaults?.properties || {}), note: "Values are JSON where the setting is not text (true, 12.5, null)." });
  const unitsTable = table("units.map", m.units?.map, ["Canonical unit", `${system} unit`]);

  /** The edited mapping. Scalars left empty keep what they were (null stays null). */
  function collect() {
    const out = JSON.parse(JSON.stringify(working));
    const scalar = (value, orig) => (value === "" && (orig === null || orig === undefined) ? orig ?? null : value);
    out.description = scalar(description.value, working.description);
    out.timezone = timezone.value === "" && working.timezone === undefined ? undefined : timezone.value;
    out.statuses = {}; out.crosswalks = {};
    out.units = { ...(working.units || {}), default: scalar(unitDefault.value, working.units?.default) };
    for (const t of tables) {
      const [group, name] = t.path.split(".");
      if (group === "statuses") out.statuses[name] = t.collect();
      else if (group === "crosswalks") out.crosswalks[name] = t.collect();
      else if (group === "units") out.units.map = t.collect();
      else if (group === "defaults") out.defaults = t.collect();
    }
    return out;
  }

  // --- live preview against a sample: searchable, paged ------------------------------------
  const sample = h("select#sample", { onchange: runPreview }, h("option", { value: "" }, "choose a sample…"),
    h("option", { value: "parked" }, `parked and dead deliveries to ${system}`));
  const sampleSearch = h("input#sample-search", { type: "search", placeholder: "PO number or message id", size: 24 });
  const samplePage = { offset: 0, total: 0 };
  const sampleInfo = h("span.muted#sample-info");
  async function loadSamples(offset = 0) {
    const q = sampleSearch.value.trim();
    let items = [], total = 0;
    if (/^[0-9a-f-]{32,36}$/i.test(q)) {
      try { const one = await get(`/api/v1/messages/${enc(q)}`); items = [one]; total = 1; } catch { items = []; }
    }
    if (!items.length) {
      const found = await get(`/api/v1/messages${query({ po_number: q, offset, limit: 40 })}`);
      items = found.items; total = found.total;
    }
    Object.assign(samplePage, { offset, total });
    for (const o of [...sample.options].slice(2)) o.remove();
    for (const x of items.filter((i) => i.system !== system && i.state !== "rejected")) {
      sample.append(h("option", { value: x.id }, `${x.system} ${x.po_number || ""} · ${when(x.received_at)} (${x.id.slice(0, 8)})`));
    }
    sampleInfo.textContent = total ? `messages ${offset + 1}–${Math.min(offset + 40, total)} of ${total}` : "no messages found";
  }
  const previewBox = h("div#preview");
  async function runPreview() {
    if (sample.value === "") return mount(previewBox, h("p.muted", "Choose a sample to preview what this mapping renders."));
    const body = sample.value === "parked" ? { mapping: collect(), parked: true } : { mapping: collect(), message_id: sample.value };
    try {
      const out = await post(`${base}/preview`, body);
      if (!out.results.length) return mount(previewBox, h("p.muted", `Nothing to preview: no parked or dead deliveries to ${system}.`));
      pagedResults(previewBox, out.results);
    } catch (e) {
      const errs = e.body?.errors;
      mount(previewBox, errs ? h("ul.err", errs.map((x) => h("li", `${x.path}: ${x.message}`))) : h("p.err", e.message));
    }
  }

  // --- draft, review, publish ---------------------------------------------------------------
  async function saveDraft() {
    if (refresh()) return null;
    try {
      const saved = await put(`${base}/draft`, { mapping: collect(), comment: comment.value, revision });
      revision = saved.revision;
      hasDraft = true;
      dirty = false;
      unsaved.message = null;
      save.disabled = true;
      discard.disabled = readOnly;
      savedNote.textContent = `Saved draft revision ${saved.revision} (not live; live is version ${live.version}).`;
      draftState.replaceChildren(draftText(saved));
      refresh();
      return saved;
    } catch (e) {
      if (e.body?.errors) showServerErrors(e.body.errors);
      else mount(errorsBox, e.message);
      return null;
    }
  }
  async function showReview(offset = 0) {
    if (dirty && !(await saveDraft())) return;
    let r;
    try { r = await post(`${base}/draft/review`, { offset, limit: PAGE }); }
    catch (e) { reviewBox.hidden = false; return mount(reviewBox, h("h2", "Review"), h("p.err", e.message)); }
    const ack = h("input#ack-new-codes", { type: "checkbox", onchange: () => { publish.disabled = !ack.checked || r.stale; } });
    const publishComment = h("input#publish-comment", { value: r.draft.comment || comment.value, size: 40, placeholder: "comment for the version" });
    const publish = h("button.primary#publish", { type: "button", disabled: readOnly || r.stale || r.new_status_codes.length > 0,
      onclick: async () => {
        try {
          const done = await post(`${base}/draft/publish`, { revision: r.draft.revision, comment: publishComment.value });
          toast(`Published ${system} version ${done.version}; ${done.requeued} parked deliveries re-queued.`);
          unsaved.message = null;
          await mappingsView(document.getElementById("view"), system);
          document.getElementById("saved")?.replaceChildren(`Published version ${done.version}; ${done.requeued} parked deliveries re-queued.`);
        } catch (e) { toast(e.message, true); mount(reviewBox.querySelector(".publish-error"), e.message); }
      } }, `Publish as version ${r.live_version + 1}`);
    reviewBox.hidden = false;
    mount(reviewBox,
      h("h2", `Review: draft revision ${r.draft.revision} (${r.draft.comment || "no comment"}) against live version ${r.live_version}`),
      r.stale ? h("p.warn#stale", `Live is version ${r.live_version}, but this draft started from version ${r.draft.base_version}. Save the draft again to review it against version ${r.live_version}.`) : null,
      h("h3", "Changes"),
      r.unchanged ? h("p.muted#no-change", `No change: the draft is the same as live version ${r.live_version}.`) : changesTable(r.changes, [`Live v${r.live_version}`, "Draft"]),
      r.new_status_codes.length ? h("p.warn#review-new-codes", `New status codes: ${r.new_status_codes.join(", ")} (${codes.source}). `,
        h("label.inline", ack, " I checked them with ", system)) : null,
      h("h3", "Impact"),
      h("p#impact", impactText(r.impact, system)),
      pager(r.offset, r.total, (o) => showReview(o)),
      h("div#review-results", r.results.map(resultCard)),
      readOnly ? null : h("p", publishComment, " ", publish, " ", h("button#close-review", { type: "button", onclick: () => { reviewBox.hidden = true; } }, "Close")),
      h("p.err.publish-error"));
    reviewBox.scrollIntoView({ block: "start" });
  }
  save.addEventListener("click", saveDraft);
  reviewBtn.addEventListener("click", () => showReview(0));
  discard.addEventListener("click", async () => {
    if (!confirm(`Discard the ${system} draft? Live version ${live.version} stays as it is.`)) return;
    try {
      await api("DELETE", `${base}/draft${query({ revision })}`);
      unsaved.message = null;
      toast(`Discarded the ${system} draft.`);
      await mappingsView(document.getElementById("view"), system);
    } catch (e) { toast(e.message, true); }
  });

  const draftText = (d) => d
    ? `Draft revision ${d.revision}, started from version ${d.base_version}, saved by ${d.author} · ${when(d.time)}`
    : `No draft: editing starts one from live version ${live.version}.`;
  const draftState = h("p#draft-state", { class: draft ? "draft" : "muted" }, draftText(draft));

  mount(main,
    h("section.card", h("h2", `${system} `, h("span.muted#version", `live version ${live.version}`)),
      h("p.muted", `by ${live.author || "?"} · ${when(live.time)} · ${live.comment || ""}`),
      draftState,
      readOnly ? h("p.muted#read-only", "Read only: editing mappings needs the admin role.") : null,
      h("div.filters", h("label", "Description", description), h("label", "Timezone", timezone))),
    h("div.row",
      h("div", h("section.card", h("h2", "Crosswalks"), crosswalkBox,
        readOnly ? null : h("p", newTable, " ", h("button#add-table", { type: "button", onclick: () => {
          const name = newTable.value;
          if (!name) return toast("Choose a table to add.", true);
          crosswalkTable(name, {}); newTable.querySelector(`option[value="${CSS.escape(name)}"]`)?.remove(); changed();
        } }, "Add table"))),
      h("section.card", h("h2", "Defaults"), defaultsTable.el),
      h("section.card", h("h2", "Units"), h("label", "Default unit (read inbound only; empty: none)", unitDefault), unitsTable.el),
      h("section.card", h("h2", "Statuses"), statusTables)),
      h("div",
        readOnly ? null : h("section.card#draft-card", h("h2", "Draft"),
          h("p.muted", "Saving keeps a draft: nothing goes live until it is reviewed and published."),
          h("p", comment), h("p", save, " ", reviewBtn, " ", discard), savedNote, errorsBox, newCodesBox),
        readOnly && draft ? h("p", reviewBtn) : null,
        reviewBox,
        h("section.card", h("h2", "Live preview"),
          h("p.filters", h("label", "Sample", sample), h("label", "Find messages", sampleSearch),
            h("button#sample-find", { type: "button", onclick: () => loadSamples(0).catch((e) => toast(e.message, true)) }, "Search"),
            h("button#sample-older", { type: "button", onclick: () => { if (samplePage.offset + 40 < samplePage.total) loadSamples(samplePage.offset + 40); } }, "Older"),
            h("button#sample-newer", { type: "button", onclick: () => loadSamples(Math.max(0, samplePage.offset - 40)) }, "Newer")),
          sampleInfo, previewBox),
        await versions(system, live, draft))));

  // "edit mapping" from a parked cause: the missing key as a row, ready to fill
  if (cause && !readOnly) {
    const [group, name] = cause.table.split(".");
    let t = tables.find((x) => x.path === cause.table);
    if (!t && group === "crosswalks") t = crosswalkTable(name, {});
    if (t) {
      const row = t.rowFor(cause.key) || t.addRow(cause.key, "");
      main.prepend(h("p.warn#cause-note", `Added ${cause.table} row '${cause.key}' from the parked cause: fill in its value, save the draft, then review and publish.`));
      changed();
      row.val.scrollIntoView({ block: "center" });
      row.val.focus();
    }
  }
  refresh();
  loadSamples(0).catch(() => { sampleInfo.textContent = "messages could not be listed"; });
  runPreview();
  if (!dirty) check();
  if (openReview) await showReview(0);
}

async function versions(system, live, draft) {
  let items;
  try { items = list(await get(`/api/v1/mappings/${enc(system)}/versions`)); }
  catch (e) { return h("section.card", h("h2", "Versions"), h("p.err", e.message)); }
  const opts = (sel) => items.map((v) => h("option", { value: v.version, selected: sel === v.version }, `version ${v.version} · ${when(v.time)}`));
  const from = h("select#diff-from", opts(items[1]?.version ?? items[0]?.version));
  const to = h("select#diff-to", opts(live.version));
  const diffBox = h("div#diff");
  const diff = async () => {
    const d = await get(`/api/v1/mappings/${enc(system)}/diff${query({ from_version: from.value, to_version: to.value })}`);
    mount(diffBox, changesTable(d.changes, [`version ${from.value}`, `version ${to.value}`]));
  };
  const rollback = (v) => async () => {
    const replace = draft ? ` This replaces the current draft (revision ${draft.revision}).` : "";
    if ((unsaved.message || draft) && !confirm(`Load version ${v.version} into the draft for review?${replace}`)) return;
    try {
      await post(`/api/v1/mappings/${enc(system)}/rollback`, { version: v.version, draft: true });
      unsaved.message = null;
      const main = document.getElementById("mapping");
      await editor(main, system, { review: true });
    } catch (e) { toast(e.message, true); }
  };
  return h("section.card#versions", h("h2", "Versions"),
    h("table", h("thead", h("tr", ["Version", "Time", "Author", "Comment", ""].map((t) => h("th", t)))),
      h("tbody", items.map((v) => h("tr.version", { "data-version": v.version },
        h("td", v.version === live.version ? h("strong", `${v.version} (live)`) : String(v.version)),
        h("td", when(v.time)), h("td", v.author || ""), h("td", v.comment || ""),
        h("td", can("admin") && v.version !== live.version ? h("button.rollback", { type: "button", onclick: rollback(v) }, "Roll back to this…") : null))))),
    h("h3", "Diff"), h("p", "from ", from, " to ", to, " ", h("button#show-diff", { type: "button", onclick: () => diff().catch((e) => toast(e.message, true)) }, "Show diff")),
    diffBox);
}
