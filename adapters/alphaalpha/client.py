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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping as AbcMapping
from collections.abc import Sequence
from typing import Any

import httpx
import orjson

from adapters._http import Delivered, Exchange, SystemClient, step_keys
from adapters.alphaalpha import lifecycle, rules
from adapters.alphaalpha.schema import SYSTEM
from core.adapter import Call, Rendered
from core.errors import DeliveryError, PermanentDelivery, TransitionNotAllowed

READ = "read"


class AlphaalphaClient(SystemClient):
    """Sends a plan (create, patch, actions); learns the PO id from the replies."""

    system = SYSTEM

    def check(self, call: Call, response: httpx.Response) -> Any:
        try:
            return super().check(call, response)
        except DeliveryError as exc:
            raise _explained(exc, response) from None

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
    ) -> Delivered:
        """Run the plan from ``start_step``: up to a ``read``, then what ``replan`` keeps."""
        calls = plan.calls
        read = next((i for i, c in enumerate(calls) if c.step == READ), None)
        if read is None or start_step > read:
            return await self._run(plan, range(start_step, len(calls)), idempotency_key,
                                   remote_ids, None, exchanges=exchanges)  # fmt: skip
        first = await self._run(
            plan,
            range(start_step, read + 1),
            idempotency_key,
            remote_ids,
            None,
            exchanges=exchanges,
        )
        try:
            keep = replan(calls, read, self.remote_status(first.body))
        except PermanentDelivery as exc:
            exc.step, exc.remote_ids, exc.last_reply = read + 1, first.remote_ids, first.body
            raise
        return await self._run(
            plan, keep, idempotency_key, first.remote_ids, first, exchanges=exchanges
        )

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
                raise
        if stop is not None:
            refused = plan.calls[todo[stop]]
            raise PermanentDelivery(
                f"{SYSTEM}: {refused.step} not sent: {refused.refused}",
                step=todo[stop], remote_ids=dict(done.remote_ids), last_reply=done.body,
            )  # fmt: skip
        done.steps = len(plan.calls)
        return done


def replan(calls: Sequence[Call], read: int, status: str | None) -> list[int]:
    """Indices of the calls after ``calls[read]`` to send, the PO being at ``status``.

    Calls that move no status (update, comment) all stay. The lifecycle calls are the ones
    the path from ``status`` to the plan's target takes (the plan was computed from the
    read's ``reaches``); a step the path needs that the plan does not hold is refused.
    """
    after = range(read + 1, len(calls))
    moves = [i for i in after if calls[i].reaches is not None]
    others = [i for i in after if calls[i].reaches is None]
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


CLIENT = AlphaalphaClient
