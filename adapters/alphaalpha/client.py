"""The hub's client for AlphaAlpha's purchase-order API.

The kit's status classification stands (401/403 auth, 429/5xx/408 retryable, other 4xx
permanent, so a lifecycle refusal, ``409``, is a ``PermanentDelivery``); the message names
the document's error envelope ``{detail, time, title}`` instead of the raw body. Every
create / patch / action reply is the full PO object: its ``id`` is the PO's remote id, which
the kit fills into the ``{id}`` of later steps.

Beyond the kit's loop, a plan here may hold:

- a ``read`` (``GET /find/{id}``): the calls after it are re-planned from the status it
  reads (``replan``), using only calls the plan holds;
- ``refused`` calls: the calls before one are sent, then the plan stops there with its
  reason as a ``PermanentDelivery`` carrying the last reply (the worker learns the status).

Sub-plans are sent through the kit's ``send`` with each call named by its key in the whole
plan, so a resumed or re-planned plan never reuses another call's idempotency key.

AlphaAlpha knows nothing of ``Idempotency-Key`` (the document never names it): a create
sent twice makes two POs, an action sent twice is refused ``409`` the second time. So a
call that may already have taken effect is never simply sent again (issue 12):

- a ``create`` after a lost reply (``unsure``, no id learnt): ``POST /dynamic-search`` for a
  PO the lost create made (same subsidiary and products, created since the message came,
  held by no other hub PO); found and claimed in the crosswalk, it is adopted and the plan
  goes on from its status;
- a ``create`` answered: its id is claimed in the crosswalk (``Crosswalk.claim``, first
  wins) before anything else is sent to that PO. The create request carries nothing of the
  hub, so identical POs are interchangeable until claimed: when another hub PO's lost-reply
  search adopted this one first, this delivery creates again (``CREATE_TRIES``) instead of
  acting on a PO another hub PO holds;
- an action after a lost reply: render plans a ``read`` first (``RemoteState.unsure``), and
  the plan is re-planned from the status read, so an action that took effect is skipped;
- a partial ``receive-goods`` after a lost reply: the PO stays PARTIALLY_RECEIVED, so the
  read's status cannot tell; its totals can (``_without_landed_receipts``);
- a ``409`` to an action (e.g. its reply was lost in a worker that was killed): ``GET
  /find/{id}``; when the PO is where the action leads (or the plan can go on from where it
  is) the plan continues, else the ``409`` stands.

Each read-back is an exchange with ``reconciled`` set (``already_done`` / ``not_done`` /
``conflict``), which the worker counts in ``pohub_reconciled_total``.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping as AbcMapping
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson

from adapters._http import (
    ID_PLACEHOLDER,
    Crosswalk,
    Delivered,
    Exchange,
    SystemClient,
    Unsure,
    step_keys,
)
from adapters.alphaalpha import lifecycle, rules
from adapters.alphaalpha.schema import SYSTEM
from core.adapter import Call, Rendered
from core.errors import DeliveryError, PermanentDelivery, RetryableDelivery, TransitionNotAllowed

READ = "read"
CREATE = "create"
COMMENT = "comment"
BASE = "/api/v1/purchase-orders"
SEARCH_PAGE = 100
SEARCH_PAGES = 200
"""At most this many pages (newest first) back to the window's start. A burst of orders
made since the message came can be deep (a full chaos run: over 1,000), and stopping short
of the window would create a second order; past the cap the client says it cannot tell."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far AlphaAlpha's clock (its ``created``) may be behind the hub's."""
CREATE_TRIES = 3
"""Creates one delivery sends when each PO made is claimed first by another hub PO."""


class AlphaalphaClient(SystemClient):
    """Sends a plan (create, patch, actions); learns the PO id from the replies."""

    system = SYSTEM

    def check(self, call: Call, response: httpx.Response) -> Any:
        try:
            body = super().check(call, response)
        except DeliveryError as exc:
            raise _explained(exc, response) from None
        acts = call.method != "GET" and not call.path.split("?")[0].endswith("/dynamic-search")
        po_id = body.get("id") if isinstance(body, dict) else None
        if acts and not isinstance(po_id, str):  # every action answers with the PO object:
            raise self.unconfirmed(response, "reply is not the PO object")  # the kit's 2xx rule
        return body

    def remote_ids(self, call: Call, body: Any) -> dict[str, str]:
        """The PO object's ``id`` (create, patch and every action answer with the PO)."""
        po_id = body.get("id") if isinstance(body, dict) else None
        return {SYSTEM: po_id} if isinstance(po_id, str) and po_id else {}

    def remote_status(self, body: Any) -> str | None:
        """The order's lifecycle status after the plan: the next plan starts from it."""
        status = body.get("status") if isinstance(body, dict) else None
        return status if isinstance(status, str) else None

    def remote_version(self, body: Any) -> int | None:
        """The PO object has no version number: its ``updated`` (ms since the epoch) orders
        its states, and tells render whether an event is newer than the last reply."""
        return rules.millis(body.get("updated")) if isinstance(body, dict) else None

    async def send(
        self,
        plan: Rendered,
        idempotency_key: str,
        start_step: int = 0,
        remote_ids: AbcMapping[str, str] | None = None,
        exchanges: list[Exchange] | None = None,
        unsure: Unsure | None = None,
        crosswalk: Crosswalk | None = None,
    ) -> Delivered:
        """Run the plan from ``start_step``: up to a ``read``, then what ``replan`` keeps.

        ``unsure`` (an earlier sending got no reply): a create is looked for before it is
        sent again; a planned read is marked as the read-back it is. ``crosswalk``: a
        created PO is claimed for this hub PO before the plan goes on."""
        calls = plan.calls
        first = calls[start_step] if start_step < len(calls) else None
        known = (remote_ids or {}).get(SYSTEM)
        if first is not None and first.step == CREATE and not known:
            if unsure is not None:
                found = await self._find_created(
                    first, start_step, unsure, idempotency_key, exchanges, crosswalk
                )
                if found is not None:
                    return await self._after(plan, start_step, found, idempotency_key, exchanges)
            return await self._create(
                plan, start_step, idempotency_key, remote_ids, exchanges, crosswalk
            )
        read = next((i for i, c in enumerate(calls) if c.step == READ), None)
        if read is None or start_step > read:
            return await self._run(plan, range(start_step, len(calls)), idempotency_key,
                                   remote_ids, None, exchanges=exchanges)  # fmt: skip
        upto = await self._run(
            plan,
            range(start_step, read + 1),
            idempotency_key,
            remote_ids,
            None,
            exchanges=exchanges,
        )
        status = self.remote_status(upto.body)
        try:
            keep = replan(calls, read, status)
        except PermanentDelivery as exc:
            _mark(exchanges, read, "conflict" if unsure is not None else None)
            exc.step, exc.remote_ids, exc.last_reply = read + 1, upto.remote_ids, upto.body
            raise
        if unsure is not None:
            unsent = _without_landed_comments(calls, keep, upto.body, unsure.version)
            unsent = _without_landed_receipts(calls, unsent, upto.body, unsure.version)
            moved = status != unsure.status or len(unsent) < len(keep)
            keep = unsent
            _mark(exchanges, read, "already_done" if moved else "not_done")
        return await self._run(
            plan, keep, idempotency_key, upto.remote_ids, upto, exchanges=exchanges
        )

    async def _create(
        self, plan: Rendered, index: int, key: str, remote_ids: AbcMapping[str, str] | None,
        exchanges: list[Exchange] | None, crosswalk: Crosswalk | None,
    ) -> Delivered:  # fmt: skip
        """Send ``plan.calls[index]`` (the create), claim the PO it made, then the rest.

        A claim refused means another hub PO's search (its own create's reply was lost)
        adopted this PO in the moment between AlphaAlpha making it and this reply: the two
        orders are identical and that hub PO now owns this one. Its own create may have made
        an order nobody holds yet: this delivery looks for one (the same search as after a
        lost reply) and adopts it, else creates its own (a new key per try:
        ``<key>.again<n>``). So the hub ends with one order per hub PO, none left over."""
        for again in range(CREATE_TRIES):
            round_key = key if again == 0 else f"{key}.again{again}"
            made = await self._run(plan, [index], round_key, remote_ids, None, exchanges=exchanges)
            po_id = made.remote_ids.get(SYSTEM)
            if crosswalk is None or po_id is None or await _claimed(crosswalk, po_id):
                rest = range(index + 1, len(plan.calls))
                return await self._run(plan, rest, key, made.remote_ids, made, exchanges=exchanges)
            left = await self._find_created(
                plan.calls[index], index, Unsure(since=crosswalk.since), round_key, exchanges,
                crosswalk,
            )  # fmt: skip
            if left is not None:
                return await self._after(plan, index, left, key, exchanges)
        raise RetryableDelivery(
            f"{SYSTEM}: the {CREATE_TRIES} POs this delivery created were each adopted first "
            "by another hub PO whose create reply was lost; creating again later"
        )

    async def _after(
        self, plan: Rendered, index: int, body: dict[str, Any], key: str,
        exchanges: list[Exchange] | None, conflict: DeliveryError | None = None,
    ) -> Delivered:  # fmt: skip
        """Go on with the plan after ``plan.calls[index]``, whose effect the target already
        has (``body``: the PO as read back), re-planned from the PO's status. With
        ``conflict`` (the action's ``409``), a PO the plan cannot go on from keeps it."""
        calls = list(plan.calls)
        reached = calls[index].reaches or lifecycle.INITIAL.value
        calls[index] = dataclasses.replace(calls[index], reaches=reached)
        learned = {SYSTEM: str(body["id"])}
        before = Delivered(status=200, body=body, remote_ids=learned, steps=index + 1)
        status = self.remote_status(body)
        try:
            keep = replan(calls, index, status)
        except PermanentDelivery as exc:
            if conflict is not None:
                _mark(exchanges, index, "conflict")
                message = f"{conflict.message} (read back: the PO is {status})"
                raise dataclasses.replace(conflict, message=message, last_reply=body) from None
            exc.step, exc.remote_ids, exc.last_reply = index + 1, learned, body
            raise
        if conflict is not None:  # the PO is past the action: nothing to send again
            _mark(exchanges, index, "already_done")
        return await self._run(plan, keep, key, learned, before, exchanges=exchanges)

    async def _find_created(
        self, create: Call, index: int, unsure: Unsure, key: str,
        exchanges: list[Exchange] | None, crosswalk: Crosswalk | None,
    ) -> dict[str, Any] | None:  # fmt: skip
        """The PO an earlier, unanswered ``create`` made, or None when it made none.

        The create request carries nothing of the hub (``{products, subsidiaryId}``), so the
        PO is recognised by what it holds: ``POST /dynamic-search`` filtered on the
        subsidiary, newest first; a match has the same products (id, quantity, price, unit),
        was created since ``unsure.since`` (less ``CLOCK_SKEW``) and is no other hub PO's
        (``crosswalk.owner``). Of several, the oldest this delivery can claim is taken.

        An order the crosswalk already gives this hub PO comes first, whatever it holds: an
        earlier sending claimed it, then stopped before the PO state learnt the id (a killed
        worker). Taking an older unclaimed one instead would leave it held by no PO's state
        and take another lost create's order (a full chaos run: 3 orders)."""
        wanted = _products(create.json)
        since = unsure.since - CLOCK_SKEW if unsure.since is not None else None
        filters: dict[str, Any] = {}
        if isinstance(create.json, dict) and create.json.get("subsidiaryId") is not None:
            filters["subsidiaryId"] = create.json["subsidiaryId"]
        matches: list[dict[str, Any]] = []
        ours: list[dict[str, Any]] = []
        searches: list[Exchange] = []
        for page in range(SEARCH_PAGES):
            body = {"filters": filters, "page": page, "size": SEARCH_PAGE,
                    "sort": [{"field": "created", "ascending": False}]}  # fmt: skip
            search = Call("POST", f"{BASE}/dynamic-search", body, step="find-created")
            found = await self._read(search, key, index, exchanges, {})
            if exchanges:
                searches.append(exchanges[-1])
            content = found.get("content") if isinstance(found, dict) else None
            orders = [o for o in content or [] if isinstance(o, dict)]
            older = False
            for order in orders:
                created = _when(order.get("created"))
                if since is not None and created is not None and created < since:
                    older = True
                    continue
                if not isinstance(order.get("id"), str):
                    continue
                owner = await crosswalk.owner(order["id"]) if crosswalk else None
                if crosswalk is not None and owner == crosswalk.po_number:
                    ours.append(order)  # claimed for this hub PO before: its own, whatever
                elif owner is None and _products(order) == wanted:  # it holds now
                    matches.append(order)
            if older or len(orders) < SEARCH_PAGE or found.get("last") is True:
                break
        else:
            raise PermanentDelivery(
                f"{SYSTEM}: cannot tell whether the unanswered create took effect: more than "
                f"{SEARCH_PAGES * SEARCH_PAGE} orders of this subsidiary since {since}; "
                "look for it at AlphaAlpha, then replay or close this delivery",
                step=index,
            )
        ours.sort(key=lambda o: str(o.get("created") or ""))
        matches.sort(key=lambda o: str(o.get("created") or ""))
        adopted = None
        for order in [*ours, *matches]:  # its own, then the oldest unclaimed; another
            # delivery may take one of those meanwhile
            if crosswalk is None or await crosswalk.claim(order["id"]):
                adopted = order
                break
        outcome = "already_done" if adopted is not None else "not_done"
        for exchange in searches:
            exchange.reconciled = outcome
        return adopted

    async def _read(
        self, call: Call, key: str, index: int, exchanges: list[Exchange] | None,
        ids: dict[str, str],
    ) -> Any:  # fmt: skip
        """One read-back call, recorded as an exchange of the step it is about."""
        try:
            response = await self._request(call, f"{key}:{call.step}", ids, exchanges, index)
            return self.check(call, response)
        except DeliveryError as exc:
            exc.step, exc.remote_ids = index, {**ids, **exc.remote_ids}
            if exchanges and exchanges[-1].error is None:
                exchanges[-1].error = str(exc)
            raise

    async def _run(
        self, plan: Rendered, indices: Sequence[int], key: str,
        remote_ids: AbcMapping[str, str] | None, before: Delivered | None, **kw: Any,
    ) -> Delivered:  # fmt: skip
        """Send ``plan.calls[indices]`` (stopping at a refused one); steps are reported as
        indices into the whole plan."""
        names = step_keys(plan)
        todo = list(indices)
        stop = next((n for n, i in enumerate(todo) if plan.calls[i].refused is not None), None)
        sent = todo if stop is None else todo[:stop]
        sub = Rendered(plan.system, [dataclasses.replace(plan.calls[i], step=names[i])
                                     for i in sent], plan.mapping_version)  # fmt: skip
        done = before or Delivered(status=0, body=None, remote_ids=dict(remote_ids or {}))
        if sent:
            try:
                done = await super().send(sub, key, 0, remote_ids, **kw)
            except DeliveryError as exc:
                exc.step = sent[exc.step]
                if exc.last_reply is None and before is not None:
                    exc.last_reply = before.body
                if exc.status == 409 and plan.calls[exc.step].reaches is not None:
                    return await self._conflict(plan, exc, key, kw.get("exchanges"))
                raise
        if stop is not None:
            refused = plan.calls[todo[stop]]
            raise PermanentDelivery(
                f"{SYSTEM}: {refused.step} not sent: {refused.refused}",
                step=todo[stop], remote_ids=dict(done.remote_ids), last_reply=done.body,
            )  # fmt: skip
        done.steps = len(plan.calls)
        return done

    async def _conflict(
        self, plan: Rendered, exc: DeliveryError, key: str, exchanges: list[Exchange] | None
    ) -> Delivered:
        """A lifecycle action refused ``409``: read the PO back (``GET /find/{id}``). When it
        is already where the action leads, or the plan can reach its target from where it
        is, the plan goes on; else the ``409`` stands (with what was read)."""
        index = exc.step
        po_id = exc.remote_ids.get(SYSTEM)
        if po_id is None:
            raise exc
        find = Call("GET", f"{BASE}/find/{ID_PLACEHOLDER}", step="read-back")
        body = await self._read(find, key, index, exchanges, {SYSTEM: po_id})
        status = self.remote_status(body)
        if not isinstance(body, dict) or lifecycle.status_of(status) is None:
            _mark(exchanges, index, "conflict")
            raise exc
        return await self._after(plan, index, body, key, exchanges, conflict=exc)


async def _claimed(crosswalk: Crosswalk, po_id: str) -> bool:
    """``crosswalk.claim``; a store that fails meanwhile leaves the PO made and unclaimed,
    so the delivery is retried as unsure (no reply status: the next sending looks for the
    PO before creating again, and adopts it) instead of creating a second one."""
    try:
        return await crosswalk.claim(po_id)
    except Exception as exc:
        raise RetryableDelivery(
            f"{SYSTEM}: created {po_id} but could not claim it in the crosswalk "
            f"({type(exc).__name__}: {exc}); it is looked for before creating again"
        ) from exc


def _mark(exchanges: list[Exchange] | None, index: int, outcome: str | None) -> None:
    """Set ``reconciled`` on the latest read-back exchange made for step ``index``."""
    if outcome is None or not exchanges:
        return
    for exchange in reversed(exchanges):
        if exchange.step == index and exchange.request.method == "GET":
            exchange.reconciled = outcome
            return


def _without_landed_comments(
    calls: Sequence[Call], keep: list[int], po: Any, since_ms: int | None
) -> list[int]:
    """``keep`` less the ``comment`` calls whose text the PO read back already shows in an
    ``events[]`` entry (its ``description``) newer than the last reply the hub saw
    (``since_ms``; unknown: any entry): a lost comment reply must not post it twice. Each
    entry accounts for one call. pohub's reading: the document's event has ``description``
    and ``date``, and a comment's text is its description (as in the simulator)."""
    events = po.get("events") if isinstance(po, dict) else None
    landed = [
        e.get("description")
        for e in events or []
        if isinstance(e, dict)
        and (since_ms is None or (rules.millis(e.get("date")) or 0) > since_ms)
    ]
    out = []
    for index in keep:
        call = calls[index]
        if call.step == COMMENT and call.text is not None and call.text in landed:
            landed.remove(call.text)
            continue
        out.append(index)
    return out


def _without_landed_receipts(
    calls: Sequence[Call], keep: list[int], po: Any, since_ms: int | None
) -> list[int]:
    """``keep`` less a ``receive-goods`` whose goods the PO read back already holds.

    A partial receipt leaves the PO where it was (PARTIALLY_RECEIVED), so the status cannot
    tell whether a receive-goods whose reply was lost was booked; sent again, it would book
    the goods twice. It counts as booked when the PO changed since the last reply the hub
    saw (``updated`` newer than ``since_ms``; unknown: any time) and holds, per product of
    the call, at least its quantity (``acceptedProducts`` plus ``rejectedProducts``).
    pohub's reading: the document lists those totals on the PO object; it does not say how
    a receipt shows in ``events[]``."""
    if not isinstance(po, dict):
        return keep
    changed = since_ms is None or (rules.millis(po.get("updated")) or 0) > since_ms
    held: dict[str, float] = defaultdict(float)
    for key in ("acceptedProducts", "rejectedProducts"):
        for entry in po.get(key) or []:
            if isinstance(entry, dict):
                held[str(entry.get("productId"))] += _num(entry.get("quantity"))
    out = []
    for index in keep:
        call = calls[index]
        goods = _goods_of(call.json) if call.step == lifecycle.Action.RECEIVE_GOODS else {}
        if changed and goods and all(held[p] + 1e-9 >= q for p, q in goods.items()):
            continue
        out.append(index)
    return out


def _goods_of(body: Any) -> dict[str, float]:
    """Per product, the quantity a receive-goods body brings (accepted plus rejected)."""
    out: dict[str, float] = defaultdict(float)
    if not isinstance(body, dict):
        return out
    for key in ("acceptedGoods", "rejectedGoods"):
        for entry in body.get(key) or []:
            if not isinstance(entry, dict):
                continue
            splits = entry.get("uomSplit") or [entry]
            for split in splits:
                if isinstance(split, dict):
                    out[str(entry.get("productId"))] += _num(split.get("quantity"))
    return out


def _products(body: Any) -> list[tuple[str, float, float | None, str | None]]:
    """A create request's or a PO object's products as comparable tuples, sorted."""
    items = body.get("products") if isinstance(body, dict) else None
    out = []
    for p in items or []:
        if not isinstance(p, dict):
            continue
        price = p.get("price", p.get("pricePerUnit"))
        out.append((str(p.get("productId")), _num(p.get("quantity")), _num(price) if price
                    is not None else None, p.get("unit")))  # fmt: skip
    return sorted(out, key=repr)


def _num(value: Any) -> float:
    try:
        return round(float(value), 9)
    except (TypeError, ValueError):
        return float("nan")


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def replan(calls: Sequence[Call], read: int, status: str | None) -> list[int]:
    """Indices of the calls after ``calls[read]`` to send, the PO being at ``status``.

    Calls that move no status (update, comment) all stay. The lifecycle calls are the ones
    the path from ``status`` to the plan's target takes (the plan was computed from the
    read's ``reaches``); a step the path needs that the plan does not hold is refused.
    """
    after = range(read + 1, len(calls))
    moves = [i for i in after if calls[i].reaches is not None]
    others = [i for i in after if calls[i].reaches is None]
    if not moves and calls[read].step == READ:  # a plan that moves no status: all of it
        return list(after)
    start = calls[read].reaches
    target = calls[moves[-1]].reaches if moves else start
    if lifecycle.status_of(status) is None:
        raise PermanentDelivery(f"{SYSTEM}: read back status {status!r}, not a lifecycle status")
    if status == start:
        return list(after)
    receiving = any(calls[i].step == lifecycle.Action.RECEIVE_GOODS for i in moves)
    try:
        path = lifecycle.plan(status, target, receiving=receiving)
    except TransitionNotAllowed:
        raise PermanentDelivery(
            f"{SYSTEM}: the PO is {status} (read back), and its lifecycle does not lead to "
            f"{target}, the status this event asks for"
        ) from None
    pool, picked = list(moves), []
    for action, _ in path:
        found = next((i for i in pool if calls[i].step == action.value), None)
        if found is None:
            raise PermanentDelivery(
                f"{SYSTEM}: the PO is {status} (read back); reaching {target} needs "
                f"{action.value}, which the plan does not hold"
            )
        picked.append(found)
        pool.remove(found)
    return others + picked


def _label(status: int) -> str:
    if status in (401, 403):
        return "authentication refused"
    if status == 429:
        return "rate limited"
    return "server error" if status >= 500 or status == 408 else "refused"


def _explained(exc: DeliveryError, response: httpx.Response) -> DeliveryError:
    """Same class and retry hint; the message carries the envelope's title and detail."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return exc
    if not isinstance(body, dict) or exc.status is None or not body.get("detail"):
        return exc
    title = body.get("title") or "Error"
    message = f"{SYSTEM}: {exc.status} {_label(exc.status)}: {title}: {body['detail']}"
    return dataclasses.replace(exc, message=message)
