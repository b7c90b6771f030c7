"""A PO's current canonical state, and what events do to it.

Full-document dialects (Uniware, AppliQloud, AlphaAlpha create) can only be written from a
whole PO, so a status-only event (Leo, EnKash) is merged into the stored state first;
status-only dialects, in turn, read their status view off a full PO.
"""

from __future__ import annotations

from decimal import Decimal

from core.errors import FieldError, InvalidInput, StateRequired
from core.model import (
    Line,
    LineReceipt,
    LineStatus,
    Party,
    PoEvent,
    PoStatus,
    PurchaseOrder,
    Schedule,
    ScheduleStatus,
    StatusChange,
    Taxes,
)


def apply_event(state: PurchaseOrder | None, event: PoEvent) -> PurchaseOrder | None:
    """The PO after ``event``; a full PO replaces header and lines and bumps the version.

    Extensions under ``pohub.*`` are the hub's own notes (what each target last said) and
    survive a full replacement. A full PO that carries no status (AppliQloud's update says
    none) keeps the stored status: an event that says nothing of the status changes none.
    Received quantities are the hub's running totals and survive a replacement too.

    Raises ``InvalidInput`` (with the sender's JSON path) for a line number the PO does not
    have, or a receipt above what is still open on a line.
    """
    if event.po is not None:
        po = _replace(state, event)
        return _receive(po, event) if event.receipts else po
    if state is None or (event.status_change is None and not event.receipts):
        return state
    # a shallow copy with its own lines list: _apply_status copies each line it changes
    # (a deep copy of the whole PO cost more than the rest of a translation)
    merged = state.model_copy(
        update={"remote_ids": {**state.remote_ids, **event.remote_ids}, "lines": list(state.lines)}
    )
    if event.status_change is not None:
        merged = _apply_status(merged, event.status_change, event.source_system)
    return _receive(merged, event) if event.receipts else merged


def _replace(state: PurchaseOrder | None, event: PoEvent) -> PurchaseOrder:
    """The event's whole PO, carrying over the hub's notes, ids and running totals."""
    assert event.po is not None
    version = state.version + 1 if state is not None else event.po.version
    remote_ids = {
        **(state.remote_ids if state else {}),
        **event.remote_ids,
        **event.po.remote_ids,
    }
    hub_private = {
        k: v for k, v in (state.extensions if state else {}).items() if k.startswith("pohub.")
    }
    # what other systems said that has no canonical home (Uniware's raw tax texts...) stays:
    # the sender replaces only its own block (``filled``)
    others = {k: v for k, v in (state.extensions if state else {}).items()
              if k not in event.po.extensions}  # fmt: skip
    extensions = {**others, **event.po.extensions, **hub_private}
    update: dict[str, object] = {
        "version": version,
        "remote_ids": remote_ids,
        "extensions": extensions,
    }
    if state is not None and event.po.status is None and event.po.source_status is None:
        update["status"], update["source_status"] = state.status, state.source_status
    po = filled(event.po, state)
    if state is not None:
        update["lines"] = [_keep_received(line, state.line(line.line_number)) for line in po.lines]
    return po.model_copy(update=update)


HEADER_KEPT = ("po_type", "created_at", "created_by", "delivery_date", "expiry_date",
               "currency", "amended_po_number", "amendment_po_number")  # fmt: skip
"""Header fields a full PO that leaves them empty does not erase: no dialect clears them by
omission, and several cannot say them at all (AppliQloud's update has no ``created``)."""
LINE_KEPT = ("sku", "vendor_sku", "product_name", "product_group", "unit", "mrp",
             "item_type", "ascription", "location", "storage", "required_delivery_date",
             "status", "source_status", "quantity")  # fmt: skip
"""Line fields kept the same way, for the line with the same number."""
LINE_CHARGES = ("discount", "discount_percent", "logistic_charges")
"""A line's charges: kept while its quantity and price stay (a discount may be per line)."""


def filled(po: PurchaseOrder, state: PurchaseOrder | None) -> PurchaseOrder:
    """``po`` (a sender's whole PO) with what it leaves empty taken from the stored PO.

    A full-document dialect says only what it has words for: AppliQloud's update carries no
    creation time, creator, expiry or MRP, so replacing the stored PO by it would erase them
    and a later write to Uniware, whose document requires them, would have none (chaos
    finding C). An empty header or line field (``HEADER_KEPT``, ``LINE_KEPT``), party name,
    e-mail or code, custom fields, ids, and other systems' ``extensions`` blocks (what they
    said that has no canonical home) keep the stored value. A total and taxes, which
    are computed from quantities and prices, are kept only while those did not change; a
    stale one would be a number nobody stated."""
    if state is None:
        return po
    update: dict[str, object] = {
        k: getattr(state, k) for k in HEADER_KEPT
        if getattr(po, k) is None and getattr(state, k) is not None
    }  # fmt: skip
    update["buyer"] = _party(po.buyer, state.buyer)
    update["supplier"] = _party(po.supplier, state.supplier)
    if not po.custom_fields and state.custom_fields:
        update["custom_fields"] = state.custom_fields
    kept_ext = {k: v for k, v in state.extensions.items() if k not in po.extensions}
    if kept_ext:
        update["extensions"] = {**kept_ext, **po.extensions}
    same_money = [_line_filled(line, state.line(line.line_number)) for line in po.lines]
    update["lines"] = [line for line, _ in same_money]
    unchanged = len(po.lines) == len(state.lines) and all(same for _, same in same_money)
    if po.total is None and state.total is not None and unchanged:
        update["total"] = state.total
    return po.model_copy(update=update)


def _party(new: Party, old: Party) -> Party:
    kept = {k: getattr(old, k) for k in ("code", "name", "email")
            if getattr(new, k) is None and getattr(old, k) is not None}  # fmt: skip
    return new.model_copy(update={**kept, "ids": {**old.ids, **new.ids}})


def _line_filled(line: Line, old: Line | None) -> tuple[Line, bool]:
    """``line`` with its empty fields from ``old``, and whether its money is unchanged.

    The unit price stays while the price the sender states (gross, or AppliQloud's net) is
    the old one; charges while quantity and price stay (a zero charge while the price
    stays); a total and tax amounts, computed from all of these, only while every one of
    them stays (else only the tax rate and zero amounts)."""
    if old is None:
        return line, False
    same_price = line.unit_price in (None, old.unit_price) and line.net_unit_price in (
        None, old.net_unit_price, _net(old))  # fmt: skip
    same_quantity = line.quantity in (None, old.quantity)
    kept = list(LINE_KEPT)
    if same_price:
        kept += ["unit_price", "net_unit_price"]
    same = same_price and same_quantity and all(
        getattr(line, k) in (None, getattr(old, k)) for k in LINE_CHARGES
    )  # fmt: skip
    if same_price:  # a zero charge is zero for any quantity
        kept += [k for k in LINE_CHARGES if same_quantity or getattr(old, k) == 0]
    update: dict[str, object] = {
        k: getattr(old, k) for k in kept if getattr(line, k) is None and getattr(old, k) is not None
    }  # fmt: skip
    if same and line.total is None and old.total is not None:
        update["total"] = old.total
    if line.taxes == Taxes() and old.taxes != Taxes() and same_price:
        update["taxes"] = old.taxes if same else _rates_only(old.taxes)
    if old.product_ids:
        update["product_ids"] = {**old.product_ids, **line.product_ids}
    if not line.custom_fields and old.custom_fields:
        update["custom_fields"] = old.custom_fields
    if not line.schedules and old.schedules:
        update["schedules"] = old.schedules
    kept_ext = {k: v for k, v in old.extensions.items() if k not in line.extensions}
    if kept_ext:  # another system's own words for this line stay; the sender's are replaced
        update["extensions"] = {**kept_ext, **line.extensions}
    return line.model_copy(update=update), same


def _rates_only(taxes: Taxes) -> Taxes:
    """What of a line's taxes holds for another quantity: the rate, and amounts of zero."""
    amounts = {k: v for k, v in taxes.model_dump().items() if k != "tax_percent"}
    return Taxes(tax_percent=taxes.tax_percent,
                 **{k: v for k, v in amounts.items() if v == 0})  # fmt: skip


def _net(line: Line) -> Decimal | None:
    """The net unit price a line implies when it has no charges: its gross price."""
    if line.net_unit_price is not None:
        return line.net_unit_price
    charged = any(getattr(line, k) for k in LINE_CHARGES)
    return None if charged else line.unit_price


def _keep_received(line: Line, old: Line | None) -> Line:
    """A re-sent line keeps what was already received against it, unless it states it."""
    if old is None or (old.accepted_quantity is None and old.rejected_quantity is None):
        return line
    if line.accepted_quantity is not None or line.rejected_quantity is not None:
        return line
    return line.model_copy(
        update={
            "accepted_quantity": old.accepted_quantity,
            "rejected_quantity": old.rejected_quantity,
        }
    )


def _line_index(po: PurchaseOrder) -> dict[str, int]:
    """Each line number's position (the first line of that number, as ``PurchaseOrder.line``)."""
    index: dict[str, int] = {}
    for i, line in enumerate(po.lines):
        index.setdefault(line.line_number, i)
    return index


def _own_line(po: PurchaseOrder, i: int, owned: set[int]) -> Line:
    """``po.lines[i]`` as a copy this PO alone holds (schedules too), made once per line."""
    if i not in owned:
        line = po.lines[i]
        schedules = [s.model_copy() for s in line.schedules]
        po.lines[i] = line.model_copy(update={"schedules": schedules})
        owned.add(i)
    return po.lines[i]


def _apply_status(po: PurchaseOrder, change: StatusChange, system: str) -> PurchaseOrder:
    """Apply a status change in place (``po`` is a copy with its own ``lines`` list, whose
    lines may still be shared: each line changed is copied first)."""
    index = _line_index(po)
    unknown = [
        FieldError(lc.path or f"$.lines[{i}]", "known_line",
                   f"PO {po.po_number!r} has no line {lc.line_number!r}")
        for i, lc in enumerate(change.lines) if lc.line_number not in index
    ]  # fmt: skip
    if unknown:
        raise InvalidInput(system, unknown)
    if change.to_status is not None or change.source_to_status is not None:
        po.status = change.to_status
        po.source_status = change.source_to_status
    if change.to_version is not None:
        po.version = change.to_version
    owned: set[int] = set()
    for line_change in change.lines:
        line = _own_line(po, index[line_change.line_number], owned)
        if line_change.status is not None or line_change.source_status is not None:
            line.status = line_change.status
            line.source_status = line_change.source_status
        known = {s.number: s for s in line.schedules}
        for sched in line_change.schedules:
            if sched.number not in known:
                # A schedule the PO's own dialect had no word for (Uniware has none): the
                # sender named it, so the hub keeps it rather than dropping its status.
                known[sched.number] = Schedule(number=sched.number)
                line.schedules.append(known[sched.number])
            known[sched.number].status = sched.status
            known[sched.number].source_status = sched.source_status
    return po


def _receive(po: PurchaseOrder, event: PoEvent) -> PurchaseOrder:
    """Add this event's receipts to the lines' totals; never above what was ordered.

    The PO becomes RECEIVED when every line's ordered quantity has arrived, else
    PARTIALLY_RECEIVED, unless the event itself says which status it is in.
    """
    po = po.model_copy(update={"lines": list(po.lines)})  # lines copied as they change
    index, owned = _line_index(po), set[int]()
    errors: list[FieldError] = []
    receipts = resolve_receipts(po, event).receipts
    for i, receipt in enumerate(receipts):
        path = receipt.path or f"$.receipts[{i}]"
        at = index.get(receipt.line_number)
        line = None if at is None else po.lines[at]
        if line is None:
            errors.append(
                FieldError(
                    path, "known_line", f"PO {po.po_number!r} has no line {receipt.line_number!r}"
                )
            )
            continue
        if receipt.unit is not None and line.unit is not None and receipt.unit != line.unit:
            errors.append(
                FieldError(
                    f"{path}.unit",
                    "same_unit",
                    f"line {line.line_number!r} is ordered in {line.unit!r}, "
                    f"received in {receipt.unit!r}",
                )
            )
            continue
        accepted = (line.accepted_quantity or Decimal(0)) + receipt.accepted
        rejected = (line.rejected_quantity or Decimal(0)) + receipt.rejected
        if line.quantity is not None and accepted + rejected > line.quantity:
            errors.append(
                FieldError(
                    path,
                    "not_above_ordered",
                    f"line {line.line_number!r}: {accepted + rejected} received "
                    f"of {line.quantity} ordered",
                )
            )
            continue
        assert at is not None
        line = _own_line(po, at, owned)
        line.accepted_quantity, line.rejected_quantity = accepted, rejected
    if errors:
        raise InvalidInput(event.source_system, errors)
    said = event.status_change is not None and event.status_change.to_status is not None
    if not said:
        po.status = PoStatus.RECEIVED if fully_received(po) else PoStatus.PARTIALLY_RECEIVED
        po.source_status = None
    return po


def resolve_receipts(po: PurchaseOrder, event: PoEvent) -> PoEvent:
    """``event`` with the line number of each receipt that names a product, not a line.

    The line is the PO's one line carrying the sender's product id
    (``Line.product_ids[source]``), else its one line with the receipt's hub SKU. None or
    several such lines is ``InvalidInput`` at the receipt's path (rule ``known_line``).
    """
    if all(r.line_number for r in event.receipts):
        return event
    errors: list[FieldError] = []
    resolved: list[LineReceipt] = []
    for i, receipt in enumerate(event.receipts):
        if receipt.line_number:
            resolved.append(receipt)
            continue
        lines = _product_lines(po, receipt, event.source_system)
        if len(lines) != 1:
            what = "no line" if not lines else f"{len(lines)} lines"
            named = receipt.product_id or receipt.sku
            errors.append(
                FieldError(
                    receipt.path or f"$.receipts[{i}]",
                    "known_line",
                    f"PO {po.po_number!r} has {what} with product {named!r}",
                )
            )
            continue  # fmt: skip
        resolved.append(receipt.model_copy(update={"line_number": lines[0].line_number}))
    if errors:
        raise InvalidInput(event.source_system, errors)
    return event.model_copy(update={"receipts": resolved})


def _product_lines(po: PurchaseOrder, receipt: LineReceipt, system: str) -> list[Line]:
    if receipt.product_id is not None:
        by_id = [ln for ln in po.lines if ln.product_ids.get(system) == receipt.product_id]
        if by_id:
            return by_id
    if receipt.sku is None:
        return []
    return [ln for ln in po.lines if ln.sku == receipt.sku]


def received(line: Line) -> Decimal:
    """Everything that arrived on a line so far, accepted or rejected."""
    return (line.accepted_quantity or Decimal(0)) + (line.rejected_quantity or Decimal(0))


def fully_received(po: PurchaseOrder) -> bool:
    """Every line with an ordered quantity has had all of it arrive."""
    lines = [ln for ln in po.lines if ln.quantity is not None and ln.status != PoStatus.CANCELLED]
    return bool(lines) and all(received(ln) >= (ln.quantity or 0) for ln in lines)


def full_po(event: PoEvent, state: PurchaseOrder | None, system: str) -> PurchaseOrder:
    """The whole PO a full-document target is rendered from: the event's PO with what it
    leaves empty from the stored PO (``filled``). A full PO that names no status
    (AppliQloud's update has none) is in the status the hub stored, as ``apply_event`` keeps
    it: the event changes no status, so no target is asked for one it never stated."""
    if event.po is not None:
        po = filled(event.po, state)
        if po.status is None and po.source_status is None and state is not None:
            return po.model_copy(
                update={"status": state.status, "source_status": state.source_status}
            )
        return po
    merged = apply_event(state, event)
    if merged is None:
        raise StateRequired(system, event.po_number)
    return merged


def status_view(event: PoEvent, state: PurchaseOrder | None) -> StatusChange:
    """The status change a status-only target is told about, read off any event.

    A goods receipt names no status of its own: the PO's status is what its running totals
    made it (PARTIALLY_RECEIVED or RECEIVED), which the stored state holds once the receipt
    has been applied (the worker renders from the state as stored after ingest).
    """
    if event.status_change is not None:
        return event.status_change
    po = event.po
    if po is None:
        if event.receipts and state is not None and state.status is not None:
            return StatusChange(to_status=state.status, source_to_status=state.source_status)
        return StatusChange()
    return StatusChange(
        from_status=state.status if state else None,
        to_status=po.status,
        source_to_status=po.source_status,
        from_version=state.version if state else None,
        to_version=po.version,
        lines=[
            LineStatus(
                line_number=line.line_number,
                status=line.status or po.status,
                source_status=line.source_status,
                schedules=[
                    ScheduleStatus(number=s.number, status=s.status, source_status=s.source_status)
                    for s in line.schedules
                ],
            )
            for line in po.lines
        ],
    )
