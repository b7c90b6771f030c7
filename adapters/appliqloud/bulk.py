"""Several POs in one update (appliqloud-purchase-orders-update.txt): the request's
``inputs`` is "List of purchase orders", and the reply lists each PO applied in ``success``
(its ``header.purchaseOrderId``) and each one refused in ``errors`` (its
``context.purchaseOrderId``, the 201 example). So one request carries many POs and its
reply is read back per PO by ``purchaseOrderId``, not by position: ``success`` and
``errors`` are two lists, neither in the order of ``inputs``.

The document states no limit on ``inputs``: ``LIMIT`` is None and config.yaml's
``batch.max`` bounds a request (see README "Configuration").
"""

from __future__ import annotations

from typing import Any

from adapters.appliqloud.schema import PATH
from core.adapter import Call

LIMIT: int | None = None
"""POs per request the document allows: it states none."""


def key(call: Call) -> str | None:
    """The ``purchaseOrderId`` of a one-PO update as ``render`` writes it; None for anything
    else (an envelope with keys beside ``inputs``, a refused step...), which goes alone."""
    body = call.json
    plain = call.method == "PUT" and call.path == PATH and not call.headers
    if not plain or call.refused is not None:
        return None
    if not isinstance(body, dict) or set(body) != {"inputs"}:
        return None
    inputs = body["inputs"]
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        return None
    return _po_id(inputs[0].get("header"))


def merge(calls: list[Call]) -> Call:
    """One ``PUT`` whose ``inputs`` are the calls' POs, in the calls' order."""
    inputs = [po for call in calls for po in call.json["inputs"]]
    return Call("PUT", PATH, {"inputs": inputs}, step=calls[0].step)


def split(body: Any, keys: list[str]) -> dict[str, Any] | None:
    """Each key's share of the reply, as a one-PO update would have had it: the ``success``
    entries and the ``errors`` that name its ``purchaseOrderId``. An entry that names no PO
    (or cannot be read) goes to every key: it may concern any of them, and the client's
    ``check`` then refuses it as it would for a one-PO call. One naming a PO not sent is
    nobody's (a one-PO call ignores it too)."""
    if not isinstance(body, dict):
        return None
    success, errors = body.get("success"), body.get("errors")
    if not isinstance(success, list) or not isinstance(errors, list):
        return None
    out: dict[str, Any] = {k: {"success": [], "errors": []} for k in keys}
    for name, entries, where in (("success", success, "header"), ("errors", errors, "context")):
        for entry in entries:
            po_id = _po_id(entry.get(where)) if isinstance(entry, dict) else None
            for k in keys if po_id is None else [po_id] if po_id in out else []:
                out[k][name].append(entry)
    return out


def _po_id(part: Any) -> str | None:
    value = part.get("purchaseOrderId") if isinstance(part, dict) else None
    return value if isinstance(value, str) else None
