// Replays that say what they do: every replay is confirmed with what it will touch (the
// filter in words, the states, the count), replays exactly that, and never sends a
// delivered delivery again without a ticked box.
import { get, h, mount, post, query, sleep, toast } from "./api.js";

export const DEFAULT_STATES = ["dead", "parked", "retrying"];
const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** Which mapping a replay renders with: the live one, or the version first used. */
export function mappingChoice() {
  return h("select.replay-mapping", { title: "mapping for the replay", "aria-label": "mapping for the replay" },
    h("option", { value: "live" }, "with the live mapping"),
    h("option", { value: "first" }, "with the version it first used"));
}

/** The replay request for a filter: its status is the one state to replay, else the defaults. */
function requestFor(filter, includeDelivered, mapping) {
  const { status, ...rest } = filter;
  const body = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined && v !== null && v !== ""));
  let states = status ? [status] : [...DEFAULT_STATES];
  if (includeDelivered && !states.includes("delivered")) states = [...states, "delivered"];
  return { ...body, states, include_delivered: includeDelivered, mapping };
}

async function follow(job, count, status) {
  while (job.state === "running") {
    await sleep(300);
    job = await get(`/api/v1/replays/${job.id}`);
    status.textContent = `replaying… ${job.done}/${job.total ?? count}`;
  }
  status.textContent = job.state === "done"
    ? `Replayed ${job.replayed} of ${plural(job.total, "delivery", "deliveries")}` + (job.stale ? ` (${job.stale} superseded, skipped).` : ".")
    : `Replay failed: ${job.error}`;
}

/**
 * "Replay matching…": `source` is the filter, or a function that reads it when the button
 * is pressed (the boxes as they are then, searched or not); a fixed filter that names its
 * state (a dead or parked cause) offers no "delivered" box. The confirmation shows what the
 * server counted for exactly that request, and the same request is what runs. `box.reset()`
 * drops a confirmation whose filter has since changed.
 */
export function bulkReplay(source, label = "Replay matching…") {
  const read = typeof source === "function" ? source : () => source;
  const offerDelivered = typeof source === "function" || !source.status;
  const box = h("div.bulk-replay");
  const choice = mappingChoice();
  const delivered = h("input.include-delivered", { type: "checkbox" });
  const start = h("button.replay-bulk", { type: "button", onclick: async () => {
    const body = requestFor(read(), delivered.checked, choice.value);
    let dry;
    try { dry = await post("/api/v1/replays", { ...body, dry_run: true }); } catch (e) {
      return pending(h("div.confirm.refused", { role: "alert" }, h("span.err.replay-refused", e.message.replace(/^400: /, "")),
        h("button.cancel-replay", { type: "button", onclick: idle }, "Back")));
    }
    const go = h("button.primary.confirm-replay", { type: "button", disabled: dry.count === 0, onclick: async () => {
      go.disabled = true;
      const status = h("span.job", `replaying… 0/${dry.count}`);
      mount(box, status);
      delete box.dataset.pending;
      try { await follow(await post("/api/v1/replays", { ...body, dry_run: false }), dry.count, status); }
      catch (e) { status.textContent = e.message; toast(e.message, true); }
    } }, `Replay ${dry.count}`);
    pending(h("div.confirm", { role: "group", "aria-label": "confirm the replay" },
      h("p.replay-count", h("strong", `This will replay ${plural(dry.count, "delivery", "deliveries")}`), ":"),
      h("p.replay-filter", dry.described),
      h("p.replay-states", "States: ", h("strong", dry.states.join(", ")),
        dry.states.includes("delivered") ? h("span.err", " — delivered deliveries will be sent again") : ""),
      dry.stale ? h("p.muted", `${dry.stale} superseded by a newer delivered event of their PO are skipped.`) : null,
      h("p.muted", `Rendered ${choice.value === "first" ? "with the mapping version each first used" : "with the live mapping"}.`),
      h("p", go, " ", h("button.cancel-replay", { type: "button", onclick: idle }, "Cancel"))));
    go.focus();
  } }, label);
  function pending(el) { mount(box, el); box.dataset.pending = "1"; }
  function idle() {
    delete box.dataset.pending;
    mount(box, start, " ", choice, offerDelivered ? [" ", h("label.inline", delivered, " also send delivered deliveries again")] : null);
  }
  box.reset = () => { if (box.dataset.pending) idle(); };
  idle();
  return box;
}

/**
 * Replay of one message (one target, or every target), confirmed: which deliveries go
 * again, which are left alone and why; a delivered one only with its box ticked.
 */
export function messageReplay(m, target, choice, done) {
  const box = h("span.message-replay");
  const mine = m.deliveries.filter((d) => !target || d.target === target);
  const label = target ? `Replay to ${target}…` : "Replay all targets…";
  const button = h(target ? "button.replay" : "button.replay-all", { type: "button", onclick: () => confirm() }, label);
  const idle = () => mount(box, button);
  function confirm() {
    const ready = mine.filter((d) => DEFAULT_STATES.includes(d.state));
    const delivered = mine.filter((d) => d.state === "delivered");
    const other = mine.filter((d) => !DEFAULT_STATES.includes(d.state) && d.state !== "delivered");
    const resend = h("input.resend-delivered", { type: "checkbox" });
    const go = h("button.primary.confirm-replay", { type: "button" });
    const count = () => ready.length + (resend.checked ? delivered.length : 0);
    const update = () => { go.textContent = `Replay ${count()}`; go.disabled = count() === 0; };
    resend.addEventListener("change", update);
    go.addEventListener("click", async () => {
      go.disabled = true;
      try {
        const r = await post(`/api/v1/messages/${encodeURIComponent(m.id)}/replay${query({ target, mapping: choice.value, include_delivered: resend.checked ? "true" : undefined })}`);
        toast(`Replayed ${plural(r.replayed.length, "delivery", "deliveries")}` + (r.refused.length ? `; left alone: ${r.refused.map((x) => `${x.target} (${x.reason})`).join("; ")}` : "."));
        done();
      } catch (e) { toast(e.message, true); idle(); }
    });
    const names = (list) => list.map((d) => `${d.target} (${d.state})`).join(", ");
    mount(box, h("div.confirm", { role: "group", "aria-label": "confirm the replay" },
      h("p.replay-count", ready.length ? ["Replays ", h("strong", names(ready)), "."] : "No dead, parked or retrying delivery here."),
      delivered.length ? h("label.inline.resend", resend, ` also send ${delivered.length === 1 && target ? "this delivered delivery" : `the delivered ${names(delivered)}`} again (the target has it already)`) : null,
      other.length ? h("p.muted", `Left alone: ${names(other)} (they go out without a replay).`) : null,
      h("p", go, " ", h("button.cancel-replay", { type: "button", onclick: idle }, "Cancel"))));
    update();
    (ready.length ? go : delivered.length ? resend : go).focus();
  }
  idle();
  return box;
}
