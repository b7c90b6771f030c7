// What a mapping renders, shown so 250 parked deliveries stay readable: one page of results
// at a time, each collapsed to one line (label, fate, how many changes) until opened, diffs
// that wrap inside their card, and "no change" when there is none.
import { h, mount, pretty } from "./api.js";

export const PAGE = 10;
const show = (v) => (v === undefined || v === null ? "—" : typeof v === "string" ? v : JSON.stringify(v));

export function changesTable(changes, [from, to] = ["Live", "Draft"]) {
  if (!changes?.length) return h("p.muted.no-change", "No change.");
  return h("table.diff", h("thead", h("tr", h("th", "Path"), h("th", from), h("th", to))),
    h("tbody", changes.map((c) => h("tr", h("td.path", c.path), h("td.from", show(c.from)), h("td.to", show(c.to))))));
}

function verdict(r) {
  if (r.error) return h("span.chip.state-dead", "fails");
  if (r.missing?.length) return h("span.chip.state-parked", `${r.missing.length} missing`);
  if (r.live_error) return h("span.chip.state-delivered", "renders (live cannot)");
  if (!r.changes?.length) return h("span.chip", "no change");
  return h("span.chip.state-queued", `${r.changes.length} change${r.changes.length === 1 ? "" : "s"}`);
}

export function resultCard(r) {
  return h("details.preview-result", { "data-message": r.message_id || "" },
    h("summary", h("strong", r.label), " ", verdict(r), r.on_publish ? h("span.fate", ` on publish: ${r.on_publish}`) : null),
    r.reason ? h("p.muted", `Parked because: ${r.reason}`) : null,
    r.error ? h("p.err", r.error) : null,
    r.missing?.length ? h("p.err.missing", "Missing rows: ", r.missing.map((x) => `${x.table}[${x.key}]`).join(", ")) : null,
    r.live_error ? h("p.muted.live-error", `The live mapping cannot render this: ${r.live_error}`) : null,
    r.live_error ? null : changesTable(r.changes),
    r.output === null || r.output === undefined ? null : h("details.output", h("summary", "Output with the draft"), h("pre", pretty(r.output))));
}

/** results, paged on the client (the preview returns at most 200). */
export function pagedResults(box, results) {
  let offset = 0;
  const draw = () => mount(box,
    pager(offset, results.length, (o) => { offset = o; draw(); }),
    results.slice(offset, offset + PAGE).map(resultCard));
  draw();
}

/** "1–10 of 250" with previous/next; go(offset) redraws. */
export function pager(offset, total, go) {
  if (total <= PAGE) return h("p.muted.pager", `${total} result${total === 1 ? "" : "s"}`);
  return h("p.pager",
    h("button.prev", { type: "button", disabled: offset === 0, onclick: () => go(Math.max(0, offset - PAGE)) }, "Previous"),
    h("span.muted", ` ${offset + 1}–${Math.min(offset + PAGE, total)} of ${total} `),
    h("button.next", { type: "button", disabled: offset + PAGE >= total, onclick: () => go(offset + PAGE) }, "Next"));
}

/** The review's numbers in words. */
export function impactText(impact, system) {
  const more = impact.more ? " (the first 1,000 reviewed)" : "";
  const parts = [`Publishing releases ${impact.will_release} of ${impact.parked} parked deliver${impact.parked === 1 ? "y" : "ies"} to ${system}${more}`];
  if (impact.still_parked) parts.push(`${impact.still_parked} stay parked (rows still missing)`);
  if (impact.dead) parts.push(`${impact.dead} dead: ${impact.dead_renderable} would render with the draft (replay them to send)`);
  return `${parts.join("; ")}.`;
}
