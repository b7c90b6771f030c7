"""Money survives or is refused: fractional quantities and every currency, to every target.

A PO rendered to a target is read back the way that target would receive it (each call of
the plan through the system's own inbound route, ``prepare`` and ``parse``). What comes back
must carry the exact quantity, unit price, unit and currency of every line, a
``units.convert`` row of the target's mapping applied (quantity x factor, price / factor);
otherwise the render must have refused with ``CannotExpress`` or ``MappingMissing``. Never a
silently changed number: 25.5 written as 25, a USD price sent with no currency, a KG line
read back as EA.

A status-only dialect (Leo, EnKash) reads back no PO at all: it says nothing of money, so it
has nothing to get wrong. A target's own parse refusing what its render wrote fails here too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from adapters import registry
from core.adapter import Call, RemoteState, RenderContext, Rendered
from core.errors import (
    CannotExpress,
    InvalidInput,
    MappingMissing,
    StateRequired,
    TransitionNotAllowed,
)
from core.inbound import InboundRequest, InboundSpec
from core.mapping.tables import Mapping
from core.model import EventKind, Line, Party, PoEvent, PoStatus, PurchaseOrder
from gateway.api.inbound import inbound_specs
from tests.provenance import (
    ISO_4217,
    STATUSES,
    Fresh,
    fresh_taken,
    mapping_for,
    purchase_order,
)

TARGETS = registry.system_ids()
REFUSALS: tuple[type[Exception], ...] = (CannotExpress, MappingMissing)
UNRELATED: tuple[type[Exception], ...] = (TransitionNotAllowed, StateRequired)
"""Refusals about the PO's lifecycle or identity, not its money: nothing to compare."""
PLACEHOLDER_ID = "ID-READ-BACK"
"""Stands for the id a create step would have been given, in later steps' paths."""


# -- reading a plan back -------------------------------------------------------------------
def _route(spec: InboundSpec, call: Call) -> tuple[Any, dict[str, str]] | None:
    path = call.path.replace("{id}", PLACEHOLDER_ID)
    for route in spec.routes:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path))
        match = re.fullmatch(pattern, path)
        if route.method == call.method and match:
            return route, match.groupdict()
    return None


def read_back(target: str, plan: Rendered, mapping: Mapping) -> list[PoEvent]:
    """Every event the target's own inbound reads out of the plan's calls."""
    spec = inbound_specs()[target]
    adapter = registry.get(target)
    events = []
    for call in plan.calls:
        found = _route(spec, call)
        assert found is not None, f"{target} has no inbound route for {call.method} {call.path}"
        route, params = found
        headers = {k.lower(): v for k, v in call.headers.items()}
        if call.form is not None:
            body = urlencode(call.form).encode()
            headers["content-type"] = "application/x-www-form-urlencoded"
        else:
            body = b"" if call.json is None else orjson.dumps(call.json)
        prepared, prepared_headers = spec.prepare(InboundRequest(route, params, headers, body))
        events += adapter.parse(prepared, mapping, prepared_headers)
    return events


# -- what must come back -------------------------------------------------------------------
def expected(line: Line, mapping: Mapping) -> tuple[Decimal | None, str | None, Decimal | None]:
    """(quantity, unit, unit price) the target should hold, after its ``units.convert``."""
    rule = mapping.file.units.convert.get(line.unit) if line.unit else None
    if rule is None:
        return line.quantity, line.unit, line.unit_price
    quantity = line.quantity * rule.factor if line.quantity is not None else None
    price = line.unit_price / rule.factor if line.unit_price is not None else None
    return quantity, rule.to, price


def net_price(line: Line, mapping: Mapping) -> Decimal | None:
    """The net unit price a target that takes net prices (AppliQloud ``netUnitPrice``) holds:
    as stated, else gross less the line discount plus logistic charges, per unit."""
    net = line.net_unit_price
    if net is None and line.quantity and line.unit_price is not None:
        total = line.quantity * line.unit_price - (line.discount or 0)
        net = (total + (line.logistic_charges or 0)) / line.quantity
    rule = mapping.file.units.convert.get(line.unit) if line.unit else None
    return net / rule.factor if net is not None and rule is not None else net


def differences(sent: PurchaseOrder, events: list[PoEvent], mapping: Mapping) -> list[str]:
    """What the target would hold that differs from the PO it was sent."""
    pos = [ev.po for ev in events if ev.po is not None]
    out = []
    for po in pos:
        if po.currency != sent.currency:
            out.append(f"currency {sent.currency!r} read back as {po.currency!r}")
        if len(po.lines) != len(sent.lines):
            out.append(f"{len(sent.lines)} lines read back as {len(po.lines)}")
        for i, (mine, theirs) in enumerate(zip(sent.lines, po.lines, strict=False)):
            quantity, unit, price = expected(mine, mapping)
            got_price = theirs.unit_price
            if got_price is None and theirs.net_unit_price is not None:
                got_price, price = theirs.net_unit_price, net_price(mine, mapping)
            if theirs.quantity != quantity:
                out.append(f"lines[{i}].quantity {quantity} read back as {theirs.quantity}")
            if got_price != price:
                out.append(f"lines[{i}].unit_price {price} read back as {got_price}")
            if unit is not None and theirs.unit != unit:
                out.append(f"lines[{i}].unit {unit!r} read back as {theirs.unit!r}")
    ordered = {q for line in sent.lines if (q := expected(line, mapping)[0]) is not None}
    for ev in events:
        for receipt in ev.receipts:
            for name in ("accepted", "rejected"):
                value = getattr(receipt, name)
                if value and value not in ordered:
                    out.append(f"receipt {name} {value} is no line's quantity {sorted(ordered)}")
    return out


def outcome(
    target: str, po: PurchaseOrder, mapping: Mapping, *, strict: bool = False
) -> str | None:
    """None when the PO arrives exactly or is refused for its money; else what went wrong.
    ``strict``: a ``MappingMissing`` propagates (the caller wants to know what parked)."""
    event = PoEvent(kind=EventKind.CREATED, po_number=po.po_number, source_system="canonical",
                    occurred_at=datetime(2024, 3, 13, 9, 30, tzinfo=UTC), po=po)  # fmt: skip
    refusals: tuple[type[Exception], ...] = (CannotExpress,) if strict else REFUSALS
    try:
        plan = registry.get(target).render(event, RenderContext(mapping, None, RemoteState()))
    except refusals + UNRELATED:
        return None
    try:
        events = read_back(target, plan, mapping)
    except InvalidInput as exc:
        return f"its own inbound refuses what its render wrote: {exc}"
    return "; ".join(differences(po, events, mapping)) or None


# -- properties ----------------------------------------------------------------------------
@st.composite
def money_cases(draw: st.DrawFn, target: str) -> tuple[PurchaseOrder, Mapping]:
    fresh = Fresh(draw, fresh_taken())
    fractional = draw(st.sampled_from([True, True, True, None]))
    po = purchase_order(draw, fresh, fractional=fractional)
    po = po.model_copy(update={"currency": draw(st.sampled_from(ISO_4217)),
                               "status": draw(st.sampled_from(STATUSES))})  # fmt: skip
    return po, mapping_for(target, [po], lambda table: fresh.token(table.upper()))


@pytest.mark.parametrize("target", TARGETS)
@settings(
    max_examples=60,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # see test_provenance: no shrinking
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_quantities_and_currency_arrive_exactly_or_are_refused(
    target: str, data: st.DataObject
) -> None:
    po, mapping = data.draw(money_cases(target), label="po")
    problem = outcome(target, po, mapping)
    assert problem is None, f"{target}: {problem}"


def _complete_po() -> PurchaseOrder:
    """A PO with everything a full-document target needs, two fractional-quantity lines."""
    when = datetime(2024, 7, 22, 9, 15, 7, tzinfo=UTC)
    lines = [
        Line(line_number="10", sku="SKU-7f3a", quantity=Decimal("25.5"), unit="KG",
             unit_price=Decimal("1234.5678"), item_type="GOODS", ascription="EXPENSE",
             required_delivery_date=when),
        Line(line_number="20", sku="SKU-8e21", quantity=Decimal("17"), unit="EA",
             unit_price=Decimal("0.0125"), item_type="GOODS", ascription="EXPENSE",
             required_delivery_date=when),
    ]  # fmt: skip
    return PurchaseOrder(
        po_number="PO-5c1d", po_type="LOCAL", status=PoStatus.APPROVED,
        buyer=Party(code="BUY-11a4", name="Buyer 11a4"),
        supplier=Party(code="SUP-77b0", name="Supplier 77b0", email="s@supplier.invalid"),
        created_at=when, created_by="buyer@buyer.invalid", delivery_date=when,
        expiry_date=datetime(2024, 8, 30, 12, 0, tzinfo=UTC), lines=lines,
    )  # fmt: skip


@pytest.mark.parametrize("target", TARGETS)
def test_every_currency_arrives_or_is_refused(target: str) -> None:
    """Each ISO 4217 code on a PO complete enough that nothing but its money can stop it."""
    base = _complete_po()
    rows = iter(range(10_000))
    mapping = mapping_for(target, [base], lambda table: f"{table.upper()}-{next(rows)}")
    wrong, parked = {}, {}
    for code in ISO_4217:
        po = base.model_copy(update={"currency": code})
        try:
            problem = outcome(target, po, mapping, strict=True)
        except MappingMissing as exc:
            parked[code] = str(exc)
            continue
        if problem is not None:
            wrong[code] = problem
    assert len(parked) < len(ISO_4217), (
        f"{target}: every currency parks, so nothing was checked: {parked['USD']}"
    )
    by_problem: dict[str, list[str]] = {}
    for code, why in wrong.items():
        by_problem.setdefault(why.replace(repr(code), "<currency>"), []).append(code)
    assert not wrong, (
        f"{target}: {len(wrong)} of {len(ISO_4217)} currencies changed:\n"
        + "\n".join(
            f"  {' '.join(codes[:6])}{' ...' if len(codes) > 6 else ''} ({len(codes)}): {why}"
            for why, codes in by_problem.items()
        )
    )
