"""One hub identity per PO, and recognising the hub's own writes when they come back.

**Crosswalk.** The store keeps ``(system, remote id) -> hub PO number`` (``Store.link_remote``).
It is written whenever the hub learns a remote id: from a target's reply to the hub's write
(the worker; authoritative, replaces a link) and from inbound events (``event.remote_ids``
and ``event.po.remote_ids``: AlphaAlpha's ``id``, EnKash's ``objectId``, Leo's ``erpNumber``
under ``erp``...; fills gaps only).

**Resolution** (``resolved``, on what ``Store.lookup`` read). An inbound event names its PO
the way its sender knows it (AlphaAlpha has no PO number: its events carry AlphaAlpha's
``id``). When that number is not
a hub PO but one of the event's remote ids, the sender's own first, is linked to a hub PO, the
event is rewritten to the hub's number before dedup, state and routing; the raw remote id
stays in ``remote_ids``. A number that is a hub PO wins over the crosswalk.

**Echoes** (``echo_of``). After each write the hub keeps, in the PO state's
``pohub.remote[<target>]["written"]``, a mark of what that write left in the target
(``written_mark``): the delivery id, the target's status code after it (as the target's reply
said; else the canonical status written), its object version (EnKash ``objectVersion``) and a
digest of the product lines (hub SKU, else the target's product id; quantity; unit price).
An inbound event from that system is an *echo of delivery <id>* when it matches the mark:

- its status code equals the mark's (the raw code when both have one, else canonical status);
- its object version equals the mark's, when both have one;
- its product lines' digest equals the mark's, when the event carries a whole PO.

An echo is stored as received, routes nowhere and leaves the PO state alone. Any other event
from that system is a change made there after the hub's write: it is routed under the hub PO
number, it becomes that system's known status and version (unless it reports an object
version older than the one the hub knows: a late report leaves them), and it clears the
mark, so that the system moving back to what the hub once wrote is not taken for an echo
either. When in
doubt (a line the crosswalks cannot name, a field the mark lacks) the event is routed.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import orjson

from core.model import Line, PoEvent, PoStatus, PurchaseOrder
from gateway.store.base import Store

REMOTE = "pohub.remote"
"""Extension key of the PO state that keeps what each system last told or got from the hub."""
WRITTEN = "written"
"""Key, inside one system's ``pohub.remote`` entry, of the mark of the hub's last write."""


# resolution ------------------------------------------------------------------------------
def remote_ids(sender: str, event: PoEvent) -> list[tuple[str, str]]:
    """Every (system, id) the event reveals, the sender's own id first."""
    found = {**event.remote_ids, **(event.po.remote_ids if event.po else {})}
    own = [(sender, found[sender])] if found.get(sender) else []
    return own + [(k, v) for k, v in found.items() if k != sender and v]


def resolved(
    sender: str, event: PoEvent, state: PurchaseOrder | None, links: dict[tuple[str, str], str]
) -> PoEvent:
    """``event`` under the hub's PO number when its own number is not a hub PO (``state``,
    the state stored under it, is None) but one of its remote ids is linked to one
    (``links``: ``Store.lookup``); else ``event`` unchanged."""
    for pair in remote_ids(sender, event):
        hub_po = links.get(pair)
        if hub_po is None:
            continue
        if hub_po == event.po_number or state is not None:
            return event
        return renumbered(event, hub_po)
    return event


def renumbered(event: PoEvent, po_number: str) -> PoEvent:
    po = event.po.model_copy(update={"po_number": po_number}) if event.po else None
    return event.model_copy(update={"po_number": po_number, "po": po})


async def learn(
    store: Store, sender: str, event: PoEvent, links: dict[tuple[str, str], str]
) -> None:
    """Link every remote id the (resolved) event reveals to its PO, where not linked yet
    (``links``, read before the event was stored; the store keeps a link made meanwhile).

    A system that names a PO by its own id (EnKash ``objectId``) parks the PO's deliveries
    as ``identity missing`` until it has named it: the first time it does, they go out.
    """
    new = [pair for pair in remote_ids(sender, event) if pair not in links]
    if new:
        await store.link_new(new, event.po_number)


def carried_over(original: PurchaseOrder, amendment: PurchaseOrder, sender: str) -> PurchaseOrder:
    """An amendment (a new PO number replacing ``original``) keeps the original's identity at
    every other system: AlphaAlpha's id, EnKash's objectId and version, what each target
    last reported. So a target that names the order by its own id gets the amendment as a
    change of the order it holds, not as a new order. The sender's own id stays its own."""
    ids = {k: v for k, v in original.remote_ids.items() if k != sender}
    remote = {k: v for k, v in original.extensions.get(REMOTE, {}).items() if k != sender}
    return amendment.model_copy(update={
        "remote_ids": {**ids, **amendment.remote_ids},
        "extensions": {**amendment.extensions,
                       REMOTE: {**remote, **amendment.extensions.get(REMOTE, {})}},
    })  # fmt: skip


# echoes ----------------------------------------------------------------------------------
def known(state: PurchaseOrder | None, system: str) -> dict[str, Any]:
    """What the hub knows of the PO inside ``system``: status, version, mark of its write."""
    if state is None:
        return {}
    value = state.extensions.get(REMOTE, {}).get(system)
    return value if isinstance(value, dict) else {}


def written_mark(
    event: PoEvent, state: PurchaseOrder | None, system: str, delivery_id: str,
    status: str | None, version: int | None,
) -> dict[str, Any]:  # fmt: skip
    """What the hub's write of ``event`` left in ``system`` (``status``/``version`` as its reply
    said); ``state`` is the PO a status-only event was rendered from."""
    po = event.po or state
    canonical = event.status_change.to_status if event.status_change else None
    if event.po is not None or canonical is None:
        canonical = po.status if po else None
    return {
        "delivery": delivery_id,
        "status": status,
        "canonical": canonical.value if canonical else None,
        "version": version,
        "lines": lines_digest(po.lines, system) if po else None,
    }


def echo_of(sender: str, event: PoEvent, state: PurchaseOrder | None) -> str | None:
    """The delivery whose write ``event`` from ``sender`` merely reflects (see the module
    docstring), or None."""
    mark = known(state, sender).get(WRITTEN)
    if not isinstance(mark, dict):
        return None
    raw, canonical, version = _reported(event)
    if mark.get("status") is not None and raw is not None:
        if raw != mark["status"]:
            return None
    elif (canonical.value if canonical else None) != mark.get("canonical"):
        return None
    if mark.get("version") is not None and version is not None and version != mark["version"]:
        return None
    if event.po is not None:
        digest = lines_digest(event.po.lines, sender)
        if digest is None or digest != mark.get("lines"):
            return None
    delivery = mark.get("delivery")
    return str(delivery) if delivery else None


def noted(state: PurchaseOrder | None, sender: str, event: PoEvent) -> PurchaseOrder | None:
    """``state`` after a real change from ``sender``: that system's status and version as the
    event says, and no mark of a hub write (the system has moved on)."""
    if state is None:
        return None
    raw, _, version = _reported(event)
    remote = dict(state.extensions.get(REMOTE, {}))
    entry = {k: v for k, v in known(state, sender).items() if k != WRITTEN}
    held = entry.get("version")
    if version is not None and isinstance(held, int) and version < held:
        # an older report arriving late (its sender retried it after the hub had written a
        # newer version there): what the system holds now is still the newer one
        remote[sender] = entry
        return state.model_copy(update={"extensions": {**state.extensions, REMOTE: remote}})
    entry.update({k: v for k, v in (("status", raw), ("version", version)) if v is not None})
    remote[sender] = entry
    return state.model_copy(update={"extensions": {**state.extensions, REMOTE: remote}})


def _reported(event: PoEvent) -> tuple[str | None, PoStatus | None, int | None]:
    """(raw status code, canonical status, object version) the event reports for its PO."""
    if event.po is not None:
        return event.po.source_status, event.po.status, None
    change = event.status_change
    if change is None:
        return None, None, None
    return change.source_to_status, change.to_status, change.to_version


def lines_digest(lines: list[Line], system: str) -> str | None:
    """Product lines as the system holds them: hub SKU (else the system's product id),
    quantity and unit price, order-free; None when a line has neither id."""
    keys = []
    for line in lines:
        product = line.sku or line.product_ids.get(system)
        if product is None:
            return None
        keys.append([product, _number(line.quantity), _number(line.unit_price)])
    keys.sort()
    return hashlib.sha256(orjson.dumps(keys)).hexdigest()[:24]


def _number(value: Decimal | None) -> str | None:
    """``6``, ``6.0`` and ``6.00`` alike."""
    return None if value is None else format(value.normalize(), "f")
