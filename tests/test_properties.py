"""Property tests: random canonical POs survive canonical -> dialect -> canonical.

Compared are the fields each dialect carries: an adapter may declare ``carries`` (dotted
canonical paths; AppliQloud's request has no status, for one); otherwise full-document
dialects are held to the PO number, status, vendor, lines' SKU, quantity and unit price,
and status-only dialects to the PO number and the status. Statuses are compared as the
system's own code, since several canonical statuses may share one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import registry
from core.errors import CannotExpress, MappingMissing
from core.model import EventKind, PoEvent, PoStatus, PurchaseOrder
from tests import support

FULL = ("po_number", "status", "supplier.code", "lines.sku", "lines.quantity", "lines.unit_price")
STATUS_ONLY = ("po_number", "status")
DIALECTS = [s for s in support.systems() if s != "canonical"]


def _get(obj: Any, dotted: str) -> Any:
    head, _, rest = dotted.partition(".")
    value = getattr(obj, head)
    if isinstance(value, list):
        return [_get(v, rest) if rest else v for v in value]
    return _get(value, rest) if rest else value


@st.composite
def purchase_orders(draw: st.DrawFn) -> PurchaseOrder:
    base = support.state_for(
        PoEvent(kind=EventKind.STATUS_CHANGED, po_number="x", source_system="t")
    )
    assert base is not None
    n_lines = draw(st.integers(1, 5))
    lines = [
        base.lines[0].model_copy(
            update={
                "line_number": str(i + 1),
                # fractional quantities too (3 places: kg, litres); an integer-only target
                # must refuse a fraction, never round it
                "quantity": Decimal(draw(st.integers(1, 10**6)))
                / Decimal(10) ** draw(st.integers(0, 3)),
                "unit_price": Decimal(draw(st.integers(0, 10**9))) / 100,
                "total": None,
            }
        )
        for i in range(n_lines)
    ]
    number = draw(st.from_regex(r"[A-Z]{2}[0-9]{1,12}", fullmatch=True))
    status = draw(st.sampled_from(list(PoStatus)))
    return base.model_copy(
        update={"po_number": number, "lines": lines, "status": status, "extensions": {}}
    )


def _wire(system: str, event: PoEvent) -> bytes:
    to_wire = getattr(registry.get(system), "to_wire", None)
    if to_wire is not None:
        return orjson.dumps(to_wire(event, support.mappings()[system]))
    return orjson.dumps(support.render_all(system, [event]))


@pytest.mark.parametrize("system", DIALECTS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(po=purchase_orders())
def test_canonical_survives_a_trip_through_the_dialect(system: str, po: PurchaseOrder) -> None:
    adapter = registry.get(system)
    mapping = support.mappings()[system]
    event = PoEvent(kind=EventKind.UPDATED, po_number=po.po_number, source_system="canonical",
                    po=po, occurred_at=support.RECEIVED_AT)  # fmt: skip
    try:
        body = _wire(system, event)
    except MappingMissing as exc:  # a status the system cannot express is not a loss
        assert exc.table.startswith("statuses")
        return
    except CannotExpress as exc:  # only a fraction an integer-only target cannot take
        assert any(line.quantity != line.quantity.to_integral_value() for line in po.lines), exc
        return
    back = support.parse(system, body)[0]
    fields = adapter.carries or (FULL if adapter.needs_full_po else STATUS_ONLY)
    source = back.po if back.po is not None else back
    for dotted in fields:
        if dotted != "status":
            assert _get(source, dotted) == _get(po if back.po is not None else event, dotted), (
                dotted
            )
    if "status" in fields:
        got = back.po.status if back.po is not None else back.status_change.to_status  # type: ignore[union-attr]
        assert mapping.status_out(got) == mapping.status_out(po.status)
