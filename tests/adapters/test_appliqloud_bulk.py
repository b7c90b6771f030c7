"""AppliQloud's bulk declaration (issue 14): which calls merge, and the reply read per PO."""

from __future__ import annotations

from adapters import registry
from adapters.appliqloud import bulk
from adapters.appliqloud.schema import PATH
from core.adapter import Call

BULK = registry.system("appliqloud").bulk


def _call(po_id: str, **extra: object) -> Call:
    return Call("PUT", PATH, {"inputs": [{"header": {"purchaseOrderId": po_id}, "items": []}],
                              **extra})  # fmt: skip


def test_appliqloud_declares_bulk_with_no_limit_from_its_document() -> None:
    assert BULK is not None and BULK.limit is None and bulk.LIMIT is None


def test_only_a_plain_one_po_update_is_merged() -> None:
    assert bulk.key(_call("A")) == "A"
    assert bulk.key(_call("A", extra=1)) is None  # an envelope of its own goes alone
    assert bulk.key(Call("PUT", PATH, {"inputs": []})) is None
    assert bulk.key(Call("POST", PATH, _call("A").json)) is None
    merged = bulk.merge([_call("A"), _call("B")])
    ids = [po["header"]["purchaseOrderId"] for po in merged.json["inputs"]]
    assert (merged.method, merged.path, ids) == ("PUT", PATH, ["A", "B"])


def test_the_reply_is_read_per_po_by_its_id_not_by_position() -> None:
    ok = {"header": {"purchaseOrderId": "B"}, "items": []}
    refused = {"traceId": "t", "cause": "X", "message": "m", "context": {"purchaseOrderId": "A"}}
    anonymous = {"traceId": "t", "cause": "Y", "message": "m"}
    other = {"header": {"purchaseOrderId": "Z"}, "items": []}
    shares = bulk.split({"success": [ok, other], "errors": [refused, anonymous]}, ["A", "B"])
    assert shares == {
        "A": {"success": [], "errors": [refused, anonymous]},
        "B": {"success": [ok], "errors": [anonymous]},
    }
    assert bulk.split({"success": []}, ["A"]) is None
    assert bulk.split("oops", ["A"]) is None
