"""Mapping values checked against what each system allows (issue 15: the editor saved
``DRAFT -> BOGUS`` and a broken vendor id and put them live)."""

from __future__ import annotations

from typing import Any

import pytest

from adapters import registry
from core.mapping.loader import mapping_from_data
from core.mapping.values import new_status_codes
from gateway.mappings.files import check_mappings
from tests import support


def _shipped(system: str) -> dict[str, Any]:
    mappings, problems = check_mappings(support.ROOT / "mappings")
    assert not problems
    return mappings[system].file.model_dump(mode="json")


def _problems(system: str, data: dict[str, Any]) -> list[tuple[str, str | None]]:
    mapping, problems = mapping_from_data(data, system, registry.get(system).spec, system)
    assert (mapping is None) == bool(problems)
    return [(p.path, p.rule) for p in problems]


@pytest.mark.parametrize("system", registry.system_ids())
def test_every_shipped_mapping_passes_the_value_rules(system: str) -> None:
    assert _problems(system, _shipped(system)) == []


def test_a_status_code_outside_a_closed_list_is_refused_naming_path_and_rule() -> None:
    data = _shipped("alphaalpha")
    data["statuses"]["document"]["DRAFT"] = "BOGUS"
    data["statuses"]["inbound"]["NOT_A_CODE"] = "REJECTED"
    mapping, problems = mapping_from_data(data, "alphaalpha", registry.get("alphaalpha").spec)
    assert mapping is None
    found = {p.path: p for p in problems}
    assert set(found) == {"$.statuses.document.DRAFT", "$.statuses.inbound.NOT_A_CODE"}
    assert {p.rule for p in problems} == {"choice"}
    assert "'BOGUS'" in found["$.statuses.document.DRAFT"].message
    assert "PENDING_INTERNAL_APPROVAL" in found["$.statuses.document.DRAFT"].message


def test_an_open_list_takes_a_new_code_but_names_it_for_review() -> None:
    live = _shipped("enkash")
    data = _shipped("enkash")
    data["statuses"]["document"]["DRAFT"] = "BOGUS"
    assert _problems("enkash", data) == []
    spec = registry.get("enkash").spec
    draft, _ = mapping_from_data(data, "enkash", spec)
    before, _ = mapping_from_data(live, "enkash", spec)
    assert draft is not None and before is not None
    assert new_status_codes(draft.file, before.file, spec) == ["BOGUS"]
    assert new_status_codes(before.file, before.file, spec) == []


@pytest.mark.parametrize("code", ["", "   "])
def test_a_blank_status_code_is_refused(code: str) -> None:
    data = _shipped("uniware")
    data["statuses"]["document"]["APPROVED"] = code
    assert _problems("uniware", data) == [("$.statuses.document.APPROVED", "not_blank")]


def test_a_level_the_system_does_not_read_is_refused() -> None:
    data = _shipped("appliqloud")
    data["statuses"]["line"] = {"APPROVED": "OPEN"}
    assert _problems("appliqloud", data) == [("$.statuses.line", "level_not_read")]


def test_crosswalk_values_from_a_document_enumeration_are_choices() -> None:
    data = _shipped("appliqloud")
    data["crosswalks"]["item_type"]["Shirt27"] = "BOGUS"
    data["crosswalks"]["po_type"]["Manual"] = "local"
    assert _problems("appliqloud", data) == [
        ("$.crosswalks.item_type.Shirt27", "choice"),
        ("$.crosswalks.po_type.Manual", "choice"),
    ]


@pytest.mark.parametrize("value", ["", "  "])
def test_a_blank_vendor_id_is_refused(value: str) -> None:
    data = _shipped("appliqloud")
    data["crosswalks"]["vendor"]["Sachin123"] = value
    data["crosswalks"]["vendor"][" "] = "9716"
    assert _problems("appliqloud", data) == [
        ("$.crosswalks.vendor.Sachin123", "not_blank"),
        ("$.crosswalks.vendor. ", "not_blank"),
    ]


def test_a_vendor_id_of_another_type_is_refused_by_the_schema() -> None:
    data = _shipped("appliqloud")
    data["crosswalks"]["vendor"]["Sachin123"] = 9715
    assert _problems("appliqloud", data) == [("$.crosswalks.vendor.Sachin123", "string_type")]


def test_no_document_states_an_id_format_so_none_is_invented() -> None:
    """Every vendor document types its ids as plain strings: a format check would be the
    hub's invention, so the specs say so (``id_format`` None) and a non-blank id passes."""
    for system in registry.system_ids():
        for table in registry.get(system).spec.crosswalks.values():
            assert table.id_format is None
    data = _shipped("appliqloud")
    data["crosswalks"]["vendor"]["Sachin123"] = "not-a-number!!"
    assert _problems("appliqloud", data) == []
