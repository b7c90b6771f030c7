"""Every value a target is sent has a source (issue 10): generated over every adapter.

Two halves, both over ``adapters/registry.py`` (a new system is picked up by existing):

- generated events, whose every scalar is distinct and unusual (``tests/provenance.py``),
  rendered to each target with a mapping that has a row for every key they use;
- every ordered pair of real inputs: each document sample (``samples/*.json``,
  ``samples/requests/*.json``) and each hand-written corpus file (``samples/corpus/``) parsed
  by its own system and rendered to every system, itself included.

A render ends in a plan whose every leaf has a source, or in a typed refusal
(``MappingMissing``, ``CannotExpress``, ``StateRequired``/``IdentityMissing``,
``TransitionNotAllowed``). Anything else fails, naming each unsourced path and its value.

``uv run python -m tests.test_provenance [N]`` prints, per target, every unsourced path
(indices as ``[*]``) found in N generated cases, with an example value.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from adapters import registry
from core.adapter import Call, RemoteState, RenderContext, Rendered
from core.errors import InvalidInput
from core.mapping.tables import Mapping
from core.model import EventKind, Line, PoEvent, PurchaseOrder
from tests import support
from tests.provenance import (
    EXPECTED_ERRORS,
    Case,
    Derivation,
    Derived,
    cases,
    generic,
    report,
    unsourced,
    unsourced_leaves,
)

TARGETS = registry.system_ids()


def _times(a: Decimal | None, b: Decimal | None) -> Iterable[Decimal]:
    return [a * b] if a is not None and b is not None else []


def _next(version: Decimal | None) -> Iterable[Decimal]:
    return [version + 1] if version is not None else []


def _net_unit_prices(d: Derived) -> Iterable[Decimal]:
    """AppliQloud's netUnitPrice from a gross price: (quantity x unit price - line discount
    + logistic charges) / quantity, per line of every source PO, and divided by a
    ``units.convert`` factor where the line's unit has one."""
    rules = d.sources.mapping.file.units.convert
    for po in d.sources.pos():
        for line in po.lines:
            gross, quantity = line.unit_price, line.quantity
            if gross is None or not quantity:
                continue
            discount = line.discount
            if discount is None and line.discount_percent:
                discount = quantity * gross * line.discount_percent / 100
            net = (quantity * gross + (line.logistic_charges or 0) - (discount or 0)) / quantity
            yield net
            rule = rules.get(line.unit) if line.unit is not None else None
            if rule is not None:
                yield net / rule.factor


DERIVED: dict[str, list[Derivation]] = {
    "appliqloud": [
        # Document: netUnitPrice is the price per unit after discounts and charges, taxes
        # excluded; a source with a gross price and line discount/charges gives it by division.
        Derivation(
            "$.inputs[*].items[*].netUnitPrice",
            "(quantity x unit price - discount + logistic charges) / quantity",
            _net_unit_prices,
        ),
    ],
    "uniware": [
        # Document 13.15: "Total cost for the quantity of items ordered" (its sample: quantity
        # 6 x unitPrice 100 = total 600). Written this way only when the source has no total.
        Derivation(
            "$.purchaseOrderItems[*].total",
            "quantity x unitPrice of the same item",
            lambda d: _times(d.sibling("quantity"), d.sibling("unitPrice")),
        ),
    ],
    "enkash": [
        # poStatus.objectVersion: a status change moves EnKash's object from currentVersion to
        # the next version (its Example sends both). currentVersion itself needs a source.
        Derivation(
            "$.poStatus.objectVersion.newVersion",
            "currentVersion + 1",
            lambda d: _next(d.sibling("currentVersion")),
        ),
    ],
}
"""Values a target computes from sources, per target: path, formula, and the reason."""


def check(case: Case) -> list[tuple[str, Any]]:
    """Render ``case``; a typed refusal is a valid outcome, any other exception propagates.
    Returns the unsourced (path, value) pairs of the plan."""
    adapter = registry.get(case.target)
    try:
        plan = adapter.render(case.event, RenderContext(case.mapping, case.state, case.remote))
    except EXPECTED_ERRORS:
        return []
    except InvalidInput:
        # the event contradicts the stored state (a receipt in another unit than the line's):
        # ingest refuses it at the border, so nothing would ever be rendered from it
        return []
    return unsourced_leaves(
        plan,
        event=case.event,
        state=case.state,
        mapping=case.mapping,
        remote=case.remote,
        derived=DERIVED.get(case.target, ()),
    )


# -- generated events ----------------------------------------------------------------------
@pytest.mark.parametrize("target", TARGETS)
@settings(
    max_examples=60,
    deadline=None,
    # No shrinking: a case is dozens of values and the message already lists every
    # unsourced path; shrinking one would cost minutes, not make the finding clearer.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_every_value_sent_has_a_source(target: str, data: st.DataObject) -> None:
    case = data.draw(cases(target), label="case")
    found = check(case)
    assert not found, f"{target} sends values with no source:\n{report(found)}"


# -- every ordered pair of real inputs -----------------------------------------------------
def input_files(system: str) -> list[Path]:
    """The document's samples and requests, and every hand-written corpus file."""
    base = registry.samples_dir(system)
    files = [*base.glob("*.json"), *(base / "requests").glob("*.json")]
    corpus = base / "corpus"
    if corpus.is_dir():
        files += [p for p in corpus.rglob("*.json") if "headers" not in p.relative_to(base).parts]
    return sorted(files)


def _parsed() -> tuple[list[tuple[str, Path]], list[tuple[str, Path, str]]]:
    """(inputs that parse into events, inputs their own system refuses, with why). A refused
    input has no translation to check; the bad-input suites own the refusal."""
    ok, refused = [], []
    for system in TARGETS:
        for path in input_files(system):
            try:
                support.parse_sample(system, path)
            except InvalidInput as exc:
                refused.append((system, path, str(exc)))
                continue
            ok.append((system, path))
    return ok, refused


INPUTS, REFUSED = _parsed()
PAIRS = [(source, path, target) for source, path in INPUTS for target in TARGETS]


def _pair_id(source: str, path: Path, target: str) -> str:
    rel = path.relative_to(registry.samples_dir(source))
    return f"{source}:{rel}->{target}"


@pytest.mark.parametrize(("source", "sample", "target"), PAIRS, ids=[_pair_id(*p) for p in PAIRS])
def test_real_input_sends_only_sourced_values(source: str, sample: Path, target: str) -> None:
    mapping = support.mappings()[target]
    problems = []
    for event in support.parse_sample(source, sample):
        case = Case(target, event, support.state_for(event), mapping, RemoteState())
        problems += check(case)
    assert not problems, f"{source} -> {target} sends values with no source:\n{report(problems)}"


def test_real_inputs_are_found() -> None:
    """Every system contributes at least one input that parses (else the pairs are empty)."""
    systems = {source for source, _ in INPUTS}
    assert systems == set(TARGETS), f"no parsable input for {set(TARGETS) - systems}"


# -- the checker itself --------------------------------------------------------------------
def _event() -> PoEvent:
    line = Line(line_number="10", sku="SKU-7f3a", quantity=Decimal("17.25"),
                unit_price=Decimal("1234.5678"))  # fmt: skip
    po = PurchaseOrder(
        po_number="PO-91c2",
        currency="JPY",
        delivery_date=datetime(2024, 7, 22, 9, 15, 7, tzinfo=UTC),
        lines=[line],
        version=4711,
    )
    return PoEvent(kind=EventKind.CREATED, po_number=po.po_number, source_system="t", po=po)


def _unsourced(body: Any, derived: Iterable[Derivation] = ()) -> list[str]:
    mapping = Mapping.from_dict({"system": "t", "timezone": "Asia/Kolkata",
                                 "defaults": {"lob": "RETAIL"}})  # fmt: skip
    return unsourced(body, event=_event(), state=None, mapping=mapping,
                     remote=RemoteState(remote_id="R-1"), derived=derived)  # fmt: skip


def test_checker_accepts_values_in_any_normal_form() -> None:
    body = {
        "qty": "17.250", "price": 1234.5678, "po": "PO-91c2", "lob": "RETAIL", "id": "R-1",
        "when": "Jul 22, 2024 2:45:07 PM", "day": "2024-07-22", "iso": "2024-07-22T09:15:07Z",
        "note": None, "flag": True, "empty": [], "nested": {"SKU-7f3a": None},
    }  # fmt: skip
    assert _unsourced(body) == []


def test_checker_names_every_invented_value() -> None:
    body = {"items": [{"discount": 0, "total": 21297.30}], "expiry": "Aug 21, 2024 2:45:07 PM",
            "remark": "", "qty": 17}  # fmt: skip
    assert _unsourced(body) == ["$.items[0].discount", "$.items[0].total", "$.expiry",
                                "$.remark", "$.qty"]  # fmt: skip


def test_checker_accepts_a_declared_derivation_only_where_its_formula_holds() -> None:
    total = Derivation("$.items[*].total", "quantity x price",
                       lambda d: _times(d.sibling("quantity"), d.sibling("price")))  # fmt: skip
    good = {"items": [{"quantity": 17.25, "price": "1234.5678", "total": "21296.29455"}]}
    bad = {"items": [{"quantity": 17.25, "price": "1234.5678", "total": 21296.3}]}
    assert _unsourced(good, [total]) == []
    assert _unsourced(bad, [total]) == ["$.items[0].total"]


def test_checker_reads_every_call_of_a_plan() -> None:
    plan = Rendered("t", [
        Call("POST", "/create", {"products": [{"price": 1234.5678}]}, step="create"),
        Call("POST", "/sent", step="mark-as-sent", form={"pdf": "invented.pdf"}),
        Call("POST", "/x", None, {"event": "RETAIL", "Authorization": "Bearer s3cret"}),
    ], "v")  # fmt: skip
    assert _unsourced(plan) == ["mark-as-sent:form.pdf"]
    late = datetime(2024, 7, 22, 9, 15, 7, tzinfo=UTC) + timedelta(days=30)
    assert _unsourced({"expiry": late.isoformat()}) == ["$.expiry"]


# -- a survey for humans -------------------------------------------------------------------
def survey(examples: int) -> None:
    """Every unsourced path in ``examples`` generated cases per target, and the outcomes."""
    for target in TARGETS:
        outcomes, found = _survey(target, examples)
        print(f"{target}: {dict(outcomes)}")
        for path, values in sorted(found.items()):
            print(f"  {path}  ({len(values)}x)  e.g. {values[0]!r}")


def _survey(target: str, examples: int) -> tuple[Counter[str], dict[str, list[Any]]]:
    found: dict[str, list[Any]] = defaultdict(list)
    outcomes: Counter[str] = Counter()

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=cases(target))
    def run(case: Case) -> None:
        try:
            registry.get(target).render(
                case.event, RenderContext(case.mapping, case.state, case.remote)
            )
        except EXPECTED_ERRORS as exc:
            outcomes[type(exc).__name__] += 1
            return
        except Exception as exc:  # reported by the survey, not raised
            outcomes[f"unexpected {type(exc).__name__}: {exc}"] += 1
            return
        outcomes["plan"] += 1
        for path, value in check(case):
            found[generic(path)].append(value)

    run()
    return outcomes, found


if __name__ == "__main__":
    survey(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
