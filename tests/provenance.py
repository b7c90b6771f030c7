"""Provenance: every value a target is sent has a source (issue 10, "the rule").

``unsourced`` walks every leaf of a rendered plan (each call's JSON body, its form fields
and the headers the adapter set; never auth headers, which the client adds) and returns the
path of each leaf whose value appears nowhere among its sources:

- every leaf of the canonical event and of the PO's stored state (``model_dump(mode="json")``),
  and of the state after the event (``core.state.apply_event``: what ingest stores; it adds
  receipts to running totals and may set PARTIALLY_RECEIVED/RECEIVED);
- every value and key of the target's mapping file (statuses, crosswalks, reverse, units,
  defaults), and what its ``units.convert`` rows make of a line's quantity and unit price;
- the remote identity (``RemoteState``: id, status, version);
- the derivations a suite declares for a target (a path pattern with ``[*]`` for any index,
  a one-line formula, and the values that formula gives for this event).

Values are compared normalised: numbers as ``Decimal`` (``6 == 6.0 == "6"``), dates as
instants (ISO with offset, or Uniware's ``Mar 12, 2024 4:16:42 PM`` in the mapping's zone)
or calendar dates (``2024-07-22``: the date of a source instant in the mapping's zone or in
its own offset). ``null`` claims nothing and is always allowed; booleans and empty
containers are ignored; keys are structure, not values.

What this cannot see: a value copied into the wrong field (SKU into vendor SKU) is still a
value the source has. The property and corpus suites check field by field.

The strategies at the bottom build events whose every scalar is distinct and unusual, so a
value the adapter invents (a 0, an example date) cannot match a source by coincidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from functools import cache
from typing import Any

from hypothesis import strategies as st

from adapters import registry
from adapters.uniware.dates import parse_uniware
from core.adapter import Call, RemoteState, Rendered
from core.dates import zone
from core.errors import CannotExpress, MappingMissing, PohubError, StateRequired
from core.errors import TransitionNotAllowed as _TransitionNotAllowed
from core.inbound import SECRET_HEADERS
from core.mapping.tables import Mapping
from core.model import (
    CustomField,
    EventKind,
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
from core.state import apply_event

EXPECTED_ERRORS: tuple[type[PohubError], ...] = (
    MappingMissing,
    CannotExpress,
    StateRequired,  # and IdentityMissing, its subclass
    _TransitionNotAllowed,
)
"""The typed refusals a render may end in instead of a plan."""

_ISO_CODES = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD "
    "BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP "
    "DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR "
    "IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD "
    "MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB "
    "PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP "
    "STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED "
    "VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX "
    "YER ZAR ZMW ZWG"
)
ISO_4217 = tuple(_ISO_CODES.split())
"""Every ISO 4217 code in use (list one), funds and metals included."""

Form = tuple[str, Any]
"""A normalised value: ("str", s), ("num", Decimal), ("at", UTC instant), ("date", date)."""

_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?", re.ASCII
)
_UNIWARE = re.compile(r"[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# -- normalising ---------------------------------------------------------------------------
def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _moment(text: str, tz: str) -> datetime | date | None:
    """An ISO date, an ISO date-time (no offset: read in ``tz``) or a Uniware date-time."""
    try:
        if _ISO.fullmatch(text):
            if len(text) == 10:
                return date.fromisoformat(text)
            value = datetime.fromisoformat(text)
            return value if value.tzinfo else value.replace(tzinfo=zone(tz))
        if _UNIWARE.fullmatch(text):
            return parse_uniware(text, tz)
    except ValueError:
        return None
    return None


def forms(value: Any, tz: str, *, source: bool = False) -> set[Form]:
    """Every normalised form of one scalar. A source instant also stands for its calendar
    date in ``tz`` and in its own offset (a target that takes dates writes one of those)."""
    if value is None or isinstance(value, bool):
        return set()
    out: set[Form] = set()
    number = _decimal(value)
    if number is not None:
        out.add(("num", number))
    if isinstance(value, str):
        out.add(("str", value))
        moment = _moment(value, tz)
        if isinstance(moment, datetime):
            out.add(("at", moment.astimezone(UTC)))
            if source:
                out.add(("date", moment.astimezone(zone(tz)).date()))
                out.add(("date", moment.date()))
        elif isinstance(moment, date):
            out.add(("date", moment))
    elif isinstance(value, datetime):
        out |= forms(value.isoformat(), tz, source=source)
    return out


def scalars(data: Any, *, keys: bool = False) -> Iterator[Any]:
    """Every scalar leaf of a JSON-like value (and every key, with ``keys``)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if keys:
                yield key
            yield from scalars(value, keys=keys)
    elif isinstance(data, list | tuple):
        for item in data:
            yield from scalars(item, keys=keys)
    else:
        yield data


# -- sources -------------------------------------------------------------------------------
MAPPING_PARTS = ("statuses", "crosswalks", "reverse", "units", "defaults")


@dataclass
class Sources:
    """Everything a rendered value may come from, for one render."""

    event: PoEvent
    state: PurchaseOrder | None
    mapping: Mapping
    remote: RemoteState
    after: PurchaseOrder | None = field(init=False)
    """The state after the event (what ingest stores), when the event applies to it."""

    def __post_init__(self) -> None:
        try:
            self.after = apply_event(self.state, self.event)
        except PohubError:
            self.after = None

    def pos(self) -> list[PurchaseOrder]:
        found = [self.event.po, self.state, self.after]
        return [po for po in found if po is not None]

    def values(self) -> Iterator[Any]:
        yield from scalars(self.event.model_dump(mode="json"))
        for po in (self.state, self.after):
            if po is not None:
                yield from scalars(po.model_dump(mode="json"))
        dumped = self.mapping.file.model_dump(mode="json")
        for part in MAPPING_PARTS:
            yield from scalars(dumped.get(part), keys=True)
        yield from (self.remote.remote_id, self.remote.status, self.remote.version)
        yield from self._converted()

    def _converted(self) -> Iterator[Any]:
        """What a ``units.convert`` row makes of a line: quantity x factor, price / factor."""
        rules = self.mapping.file.units.convert
        for po in self.pos():
            for line in po.lines:
                rule = rules.get(line.unit) if line.unit is not None else None
                if rule is None:
                    continue
                if line.quantity is not None:
                    yield line.quantity * rule.factor
                for price in (line.unit_price, line.net_unit_price):
                    if price is not None:
                        yield price / rule.factor

    def forms(self) -> set[Form]:
        tz = self.mapping.timezone
        return {f for value in self.values() for f in forms(value, tz, source=True)}


@dataclass(frozen=True)
class Derived:
    """What a derivation's formula may read: the sources, everything the plan sends, and
    the path of the value being checked."""

    sources: Sources
    sent: dict[str, Any]
    path: str

    def sibling(self, key: str) -> Decimal | None:
        """A number sent beside the checked value, in the same object (``quantity``)."""
        parent = self.path.rsplit(".", 1)[0]
        return _decimal(self.sent.get(f"{parent}.{key}"))


@dataclass(frozen=True)
class Derivation:
    """A target value computed from sources, declared beside the suite with its reason."""

    path: str
    """``$.purchaseOrderItems[*].total``; ``step:$...`` for a step of a multi-call plan."""
    formula: str
    values: Callable[[Derived], Iterable[Any]]

    def matches(self, path: str) -> bool:
        pattern = re.escape(self.path).replace(r"\[\*\]", r"\[\d+\]")
        return re.fullmatch(pattern, path) is not None


# -- the rendered side ---------------------------------------------------------------------
def _walk(data: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            step = f".{key}" if _KEY.fullmatch(str(key)) else f"[{str(key)!r}]"
            yield from _walk(value, path + step)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            yield from _walk(item, f"{path}[{i}]")
    else:
        yield path, data


PROTOCOL_HEADERS = frozenset({"content-type", "accept"})
"""How a body is encoded, not what it says (AlphaAlpha's raw-text comment is sent as
``application/json``, as its document's curl does): not business values."""


def leaves(output: Rendered | list[Call] | Any) -> Iterator[tuple[str, Any]]:
    """(path, value) of every leaf a plan sends. A call whose step is not the default
    ``send`` prefixes its paths with the step (``create:$.products[0].price``); form
    fields are ``form.<name>``, headers ``header.<name>`` (auth headers left out)."""
    calls = output.calls if isinstance(output, Rendered) else output
    if not (isinstance(calls, list) and all(isinstance(c, Call) for c in calls)):
        yield from _walk(output, "$")
        return
    for call in calls:
        prefix = "" if call.step == "send" else f"{call.step}:"
        yield from _walk(call.json, f"{prefix}$")
        for name, value in (call.form or {}).items():
            yield f"{prefix}form.{name}", value
        for name, value in call.headers.items():
            if name.lower() not in SECRET_HEADERS | PROTOCOL_HEADERS:
                yield f"{prefix}header.{name}", value


def unsourced_leaves(
    output: Rendered | list[Call] | Any,
    *,
    event: PoEvent,
    state: PurchaseOrder | None,
    mapping: Mapping,
    remote: RemoteState,
    derived: Iterable[Derivation] = (),
) -> list[tuple[str, Any]]:
    """(path, value) of every leaf of ``output`` whose value has no source."""
    sources = Sources(event, state, mapping, remote)
    known = sources.forms()
    tz = mapping.timezone
    derived = list(derived)
    sent = dict(leaves(output))
    bad = []
    for path, value in sent.items():
        own = forms(value, tz)
        if not own or own & known:
            continue
        context = Derived(sources, sent, path)
        made = (d for d in derived if d.matches(path))
        if any(own & {f for v in d.values(context) for f in forms(v, tz)} for d in made):
            continue
        bad.append((path, value))
    return bad


def unsourced(
    output: Rendered | list[Call] | Any,
    *,
    event: PoEvent,
    state: PurchaseOrder | None,
    mapping: Mapping,
    remote: RemoteState,
    derived: Iterable[Derivation] = (),
) -> list[str]:
    """The JSON paths of every leaf of ``output`` whose value has no source."""
    found = unsourced_leaves(
        output, event=event, state=state, mapping=mapping, remote=remote, derived=derived
    )
    return [path for path, _ in found]


def report(found: list[tuple[str, Any]]) -> str:
    return "\n".join(f"  {path} = {value!r}" for path, value in found)


def generic(path: str) -> str:
    """``$.items[3].quantity`` -> ``$.items[*].quantity``: one entry per field in a summary."""
    return re.sub(r"\[\d+\]", "[*]", path)


# -- distinct values -----------------------------------------------------------------------
@cache
def _zones() -> list[str]:
    from tests import support

    return sorted({m.timezone for m in support.mappings().values()} | {"UTC"})


class Fresh:
    """Draws values no other value of the case shares in any normalised form (nor any value
    of a shipped mapping), so that a source matches only where it was really used."""

    def __init__(self, draw: st.DrawFn, taken: set[Form]) -> None:
        self.draw = draw
        self.rng = draw(st.randoms(use_true_random=False))
        """Seeds of the values themselves (their shape is drawn: fewer draws, same reach)."""
        self.taken = taken
        self.zones = _zones()

    def _claim(self, value: Any) -> bool:
        mine = {f for tz in self.zones for f in forms(value, tz, source=True)}
        if isinstance(value, Decimal):  # also as the string a dump makes of it
            mine |= forms(str(value), "UTC")
        if mine & self.taken:
            return False
        self.taken |= mine
        return True

    def _first(self, make: Callable[[int], Any], seed: int) -> Any:
        for bump in range(10_000):
            value = make(seed + bump)
            if self._claim(value):
                return value
        raise AssertionError("no fresh value")  # pragma: no cover

    def token(self, prefix: str) -> str:
        seed = self.rng.randint(0x1000, 0xFFFF)
        return str(self._first(lambda n: f"{prefix}-{n:x}", seed))

    def integer(self, low: int = 1001, high: int = 999_999) -> int:
        seed = self.rng.randint(low, high)
        return int(self._first(lambda n: n, seed))

    def number_text(self) -> str:
        """A line number: digits, like the documents' ``"10"``."""
        return str(self.integer(100, 99_999))

    def money(self) -> Decimal:
        """Like ``1234.5678``: four places, never round."""
        seed = self.rng.randint(10_001, 99_999_999)
        return Decimal(self._first(lambda n: Decimal(n if n % 10 else n + 1) / 10_000, seed))

    def quantity(self, fractional: bool | None = None) -> Decimal:
        """``17.25``, ``3.125``, ``0.001``... or a whole number like ``17``."""
        if fractional is None:
            fractional = self.draw(st.booleans())
        whole = self.rng.randint(0 if fractional else 2, 9_999)
        if not fractional:
            return Decimal(self._first(lambda n: n, whole))
        denominator = self.draw(st.sampled_from([2, 4, 8, 10, 100, 1000]))
        numerator = self.rng.randint(1, denominator - 1)

        def make(n: int) -> Decimal:
            return n + Decimal(numerator) / denominator

        return Decimal(self._first(make, whole))

    def moment(self) -> datetime:
        """A whole-second instant in 2021-2027 with an unusual offset (its own calendar day)."""
        offset = self.draw(st.sampled_from([0, 330, -180, 345, 540, -420, 60]))
        tz = UTC if offset == 0 else timezone(timedelta(minutes=offset))
        day = self.rng.randint(0, 6 * 365)
        second = self.rng.randint(3_600 * 2, 3_600 * 20)

        def make(n: int) -> datetime:
            return datetime(2021, 1, 1, tzinfo=tz) + timedelta(days=n, seconds=second)

        return datetime.fromisoformat(self._first(make, day).isoformat())


def fresh_taken() -> set[Form]:
    """Start from every value of the shipped mappings: a drawn value never equals one."""
    return set(_mapping_forms())


@cache
def _mapping_forms() -> frozenset[Form]:
    from tests import support

    taken: set[Form] = set()
    for mapping in support.mappings().values():
        dumped = mapping.file.model_dump(mode="json")
        for part in MAPPING_PARTS:
            for value in scalars(dumped.get(part), keys=True):
                taken |= forms(value, mapping.timezone, source=True)
    return frozenset(taken)


def maybe(draw: st.DrawFn, make: Callable[[], Any], p_absent: float = 0.3) -> Any:
    """``make()`` or ``None`` (an optional field left out)."""
    absent = draw(st.integers(0, 99)) < p_absent * 100
    return None if absent else make()


# -- canonical POs and events ---------------------------------------------------------------
STATUSES = list(PoStatus)


def party(draw: st.DrawFn, fresh: Fresh, prefix: str) -> Party:
    return Party(
        code=fresh.token(prefix),
        name=maybe(draw, lambda: fresh.token(f"{prefix}-NAME")),
        email=maybe(draw, lambda: f"{fresh.token('mail')}@{prefix.lower()}.invalid"),
    )


def line(
    draw: st.DrawFn, fresh: Fresh, number: str, fractional: bool | None = None, rich: bool = True
) -> Line:
    def m() -> Decimal:
        return fresh.money()

    def opt(make: Callable[[], Any]) -> Any:
        return maybe(draw, make) if rich else None

    return Line(
        line_number=number,
        sku=fresh.token("SKU"),
        vendor_sku=opt(lambda: fresh.token("VSKU")),
        product_name=opt(lambda: fresh.token("Product")),
        product_group=opt(lambda: fresh.token("GRP")),
        quantity=fresh.quantity(fractional),
        unit=draw(st.sampled_from([None, "EA", "KG", "L", "PCS"])),
        unit_price=fresh.money(),
        mrp=opt(m),
        discount=opt(m),
        discount_percent=opt(m),
        taxes=Taxes(
            cgst=opt(m), sgst=opt(m), igst=opt(m), utgst=opt(m), tax=opt(m), tax_percent=opt(m)
        ),
        logistic_charges=opt(m),
        total=opt(m),
        net_unit_price=opt(m),
        item_type=opt(lambda: draw(st.sampled_from(["GOODS", "SERVICE", fresh.token("TYPE")]))),
        ascription=opt(lambda: draw(st.sampled_from(["INVENTORY", "EXPENSE"]))),
        location=opt(lambda: fresh.token("LOC")),
        storage=opt(lambda: fresh.token("STO")),
        required_delivery_date=opt(fresh.moment),
        status=opt(lambda: draw(st.sampled_from(STATUSES))),
        schedules=opt(
            lambda: [
                Schedule(
                    number=fresh.number_text(),
                    status=maybe(draw, lambda: draw(st.sampled_from(STATUSES))),
                )
                for _ in range(draw(st.integers(1, 2)))
            ]
        )
        or [],
        custom_fields=opt(lambda: [CustomField(name=fresh.token("CF"), value=fresh.token("V"))])
        or [],
    )


def purchase_order(
    draw: st.DrawFn,
    fresh: Fresh,
    number: str | None = None,
    *,
    fractional: bool | None = None,
    rich: bool = True,
) -> PurchaseOrder:
    """A whole PO; ``rich=False`` leaves out every optional field but currency and status."""

    def opt(make: Callable[[], Any]) -> Any:
        return maybe(draw, make) if rich else None

    n_lines = draw(st.integers(1, 3))
    return PurchaseOrder(
        po_number=number or fresh.token("PO"),
        po_type=opt(lambda: fresh.token("TYPE")),
        buyer=party(draw, fresh, "BUY") if rich else Party(code=fresh.token("BUY")),
        supplier=party(draw, fresh, "SUP") if rich else Party(code=fresh.token("SUP")),
        created_at=opt(fresh.moment),
        created_by=opt(lambda: f"{fresh.token('user')}@buyer.invalid"),
        updated_at=opt(fresh.moment),
        delivery_date=opt(fresh.moment),
        expiry_date=opt(fresh.moment),
        currency=opt(lambda: draw(st.sampled_from(ISO_4217)))
        if rich
        else draw(st.sampled_from(ISO_4217)),
        total=opt(fresh.money),
        status=maybe(draw, lambda: draw(st.sampled_from(STATUSES)), 0.15),
        version=fresh.integer(),
        amended_po_number=opt(lambda: fresh.token("PO-OLD")),
        amendment_po_number=opt(lambda: fresh.token("PO-NEW")),
        custom_fields=opt(lambda: [CustomField(name=fresh.token("HCF"), value=fresh.token("HV"))])
        or [],
        lines=[line(draw, fresh, fresh.number_text(), fractional, rich) for _ in range(n_lines)],
    )


def remote_ids(draw: st.DrawFn, fresh: Fresh) -> dict[str, str]:
    names = draw(st.lists(st.sampled_from([*registry.system_ids(), "erp"]), unique=True,
                          max_size=3))  # fmt: skip
    return {name: fresh.token("RID") for name in names}


def full_event(draw: st.DrawFn, fresh: Fresh, source: str) -> tuple[PoEvent, PurchaseOrder | None]:
    po = purchase_order(draw, fresh)
    state = None
    if draw(st.booleans()):  # the hub knew an earlier version of this PO
        before = purchase_order(draw, fresh, po.po_number)
        state = before.model_copy(update={"lines": [
            ln.model_copy(update={"line_number": new.line_number})
            for ln, new in zip(before.lines, po.lines, strict=False)
        ]})  # fmt: skip
    kind = draw(st.sampled_from([EventKind.CREATED, EventKind.UPDATED, EventKind.APPROVED,
                                 EventKind.AMENDED]))  # fmt: skip
    event = PoEvent(
        kind=kind, po_number=po.po_number, source_system=source, occurred_at=fresh.moment(),
        po=po, remote_ids=maybe(draw, lambda: remote_ids(draw, fresh), 0.6) or {},
        action=maybe(draw, lambda: fresh.token("ACT"), 0.7),
        remarks=maybe(draw, lambda: fresh.token("Remark"), 0.5),
    )  # fmt: skip
    return event, state


def status_event(
    draw: st.DrawFn, fresh: Fresh, source: str
) -> tuple[PoEvent, PurchaseOrder | None]:
    """A status-only event (a Leo/EnKash-style change, a receipt, a comment) and the PO the
    hub stored before it (sometimes none)."""
    state = purchase_order(draw, fresh)
    kind = draw(st.sampled_from([EventKind.STATUS_CHANGED, EventKind.GOODS_RECEIVED,
                                 EventKind.COMMENTED, EventKind.APPROVED]))  # fmt: skip
    lines = draw(st.lists(st.sampled_from(state.lines), unique_by=lambda ln: ln.line_number,
                          max_size=len(state.lines)))  # fmt: skip

    def status() -> PoStatus:
        return draw(st.sampled_from(STATUSES))

    change = StatusChange(
        from_status=maybe(draw, status, 0.5),
        to_status=maybe(draw, status, 0.2),
        source_to_status=maybe(draw, lambda: fresh.token("RAW"), 0.85),
        from_version=maybe(draw, fresh.integer, 0.5),
        to_version=maybe(draw, fresh.integer, 0.5),
        lines=[
            LineStatus(line_number=ln.line_number, status=maybe(draw, status, 0.3),
                       schedules=[ScheduleStatus(number=s.number, status=maybe(draw, status))
                                  for s in ln.schedules])
            for ln in lines
        ],
    )  # fmt: skip
    receipts = []
    if kind is EventKind.GOODS_RECEIVED:
        for ln in lines or state.lines[:1]:
            assert ln.quantity is not None
            # Both quantities stated and distinct: a default 0 would be a source for any 0.
            accepted, rejected = (
                (ln.quantity * Decimal(share)).quantize(Decimal("0.001"), ROUND_DOWN)
                for share in ("0.37", "0.11")
            )
            if rejected > 0 and fresh._claim(accepted) and fresh._claim(rejected):
                receipts.append(LineReceipt(line_number=ln.line_number, accepted=accepted,
                                            rejected=rejected, unit=ln.unit))  # fmt: skip
    event = PoEvent(
        kind=kind, po_number=state.po_number, source_system=source, occurred_at=fresh.moment(),
        status_change=None if kind is EventKind.COMMENTED else change, receipts=receipts,
        remote_ids=maybe(draw, lambda: remote_ids(draw, fresh), 0.6) or {},
        action=maybe(draw, lambda: fresh.token("ACT"), 0.6),
        remarks=maybe(draw, lambda: fresh.token("Remark"), 0.5),
        error_message=maybe(draw, lambda: fresh.token("Error"), 0.7),
    )  # fmt: skip
    return event, (None if draw(st.integers(0, 9)) == 5 else state)


# -- mappings for an event ------------------------------------------------------------------
def _codes(po: PurchaseOrder, attr: str) -> list[str | None]:
    return [getattr(ln, attr) for ln in po.lines]


TABLE_KEYS: dict[str, Callable[[PurchaseOrder], list[str | None]]] = {
    "vendor": lambda po: [po.supplier.code],
    "buyer": lambda po: [po.buyer.code],
    "product": lambda po: _codes(po, "sku"),
    "product_group": lambda po: _codes(po, "sku"),
    "location": lambda po: _codes(po, "location"),
    "po_type": lambda po: [po.po_type],
}
"""The hub key each crosswalk table is looked up by; a table not named here gets a row for
every string of the PO (a new adapter's table still never parks the case)."""

CODE_TABLES = frozenset({"po_type"})
"""Tables whose values are the target's code list (AppliQloud LOCAL/IMPORT), not ids: a new
row takes a code the shipped table already uses, never an invented one."""


def mapping_for(target: str, pos: list[PurchaseOrder], new_id: Callable[[str], str]) -> Mapping:
    """The shipped mapping of ``target`` plus a row, with the id ``new_id(table)`` gives, for
    every key the POs use in every crosswalk table the adapter reads."""
    from tests import support

    adapter = registry.get(target)
    data = support.mappings()[target].file.model_dump(mode="json")
    for table in adapter.spec.crosswalks:
        rows = data["crosswalks"].setdefault(table, {})
        codes = sorted(set(rows.values())) if table in CODE_TABLES else []
        for po in pos:
            keys = TABLE_KEYS[table](po) if table in TABLE_KEYS else _strings(po)
            for key in keys:
                if key is not None and key not in rows:
                    rows[key] = codes[len(rows) % len(codes)] if codes else new_id(table)
    return Mapping.from_dict(data, spec=adapter.spec)


def _strings(po: PurchaseOrder) -> list[str | None]:
    return [v for v in scalars(po.model_dump(mode="json")) if isinstance(v, str)]


@dataclass
class Case:
    target: str
    event: PoEvent
    state: PurchaseOrder | None
    mapping: Mapping
    remote: RemoteState

    def __repr__(self) -> str:
        return (
            f"Case({self.target}, event={self.event.model_dump_json(exclude_defaults=True)}, "
            f"state={self.state.model_dump_json(exclude_defaults=True) if self.state else None}, "
            f"remote={self.remote})"
        )


@st.composite
def cases(draw: st.DrawFn, target: str) -> Case:
    """An event for ``target`` (full PO or status-only) from another system, the stored
    state, what the hub knows of the PO inside the target, and the mapping with its rows."""
    fresh = Fresh(draw, fresh_taken())
    others = [s for s in registry.system_ids() if s != target]
    source = draw(st.sampled_from(others))
    make = full_event if draw(st.booleans()) else status_event
    event, state = make(draw, fresh, source)
    pos = [po for po in (event.po, state) if po is not None]
    mapping = mapping_for(target, pos, lambda table: fresh.token(table.upper()))
    codes = sorted(set(mapping.file.statuses.document.values()))
    remote = RemoteState(
        remote_id=maybe(draw, lambda: fresh.token("REMOTE"), 0.5),
        status=maybe(draw, lambda: draw(st.sampled_from(codes)), 0.5) if codes else None,
        version=maybe(draw, fresh.integer, 0.5),
    )
    return Case(target, event, state, mapping, remote)
