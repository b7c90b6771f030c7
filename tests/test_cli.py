"""The ``pohub`` command line as a user runs it: a real subprocess, real files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from tests.support import ROOT

UNIWARE = ROOT / "adapters/uniware/samples/approved-po.json"


def pohub(
    *args: str, stdin: bytes | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[bytes]:
    cmd = [sys.executable, "-m", "gateway.cli", *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, cwd=cwd, timeout=60, check=False)


def test_translate_file_to_canonical() -> None:
    out = pohub("translate", "--from", "uniware", "--to", "canonical", str(UNIWARE))
    assert out.returncode == 0, out.stderr
    event = orjson.loads(out.stdout)
    assert event["po_number"] == "PO0194"
    assert event["po"]["lines"][0]["sku"] == "Shirt27"


def test_translate_reads_stdin() -> None:
    out = pohub(
        "translate", "--from", "uniware", "--to", "uniware", "-", stdin=UNIWARE.read_bytes()
    )
    assert out.returncode == 0, out.stderr
    assert orjson.loads(out.stdout) == orjson.loads(UNIWARE.read_bytes())


def test_invalid_input_exits_2_naming_the_path() -> None:
    doc = orjson.loads(UNIWARE.read_bytes())
    doc["purchaseOrderItems"][0]["quantity"] = "six"
    out = pohub("translate", "--from", "uniware", "--to", "canonical", stdin=orjson.dumps(doc))
    assert out.returncode == 2
    assert b"$.purchaseOrderItems[0].quantity" in out.stderr


def test_non_json_exits_2() -> None:
    out = pohub("translate", "--from", "uniware", "--to", "canonical", stdin=b"<xml/>")
    assert out.returncode == 2
    assert b"$:" in out.stderr


def test_missing_mapping_exits_3_naming_table_and_key(tmp_path: Path) -> None:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for file in (ROOT / "mappings").glob("*.yaml"):
        text = file.read_text()
        if file.stem == "uniware":
            text = text.replace("    APPROVED: APPROVED\n", "")
        (mappings / file.name).write_text(text)
    (tmp_path / "config.yaml").write_text("mappings_dir: mappings\n")
    doc = orjson.loads(UNIWARE.read_bytes())
    out = pohub(
        "translate", "--config", str(tmp_path / "config.yaml"), "--from", "canonical",
        "--to", "uniware",
        stdin=orjson.dumps({"kind": "updated", "po_number": "X", "source_system": "canonical",
                            "po": {"po_number": "X", "status": "APPROVED",
                                   "supplier": {"code": doc["vendorCode"]},
                                   "created_at": "2024-01-01T00:00:00Z",
                                   "delivery_date": "2024-01-02T00:00:00Z"}}),
    )  # fmt: skip
    assert out.returncode == 3, out.stderr
    assert b"statuses.document" in out.stderr and b"APPROVED" in out.stderr


def test_unknown_system_is_a_usage_error() -> None:
    out = pohub("translate", "--from", "nope", "--to", "canonical", stdin=b"{}")
    assert out.returncode == 2
    assert b"unknown system" in out.stderr


def test_check_config_passes_on_the_shipped_files() -> None:
    out = pohub("check-config")
    assert out.returncode == 0, out.stderr


def test_check_config_names_file_line_and_path(tmp_path: Path) -> None:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for file in (ROOT / "mappings").glob("*.yaml"):
        (mappings / file.name).write_text(file.read_text())
    broken = (mappings / "uniware.yaml").read_text().replace("currency: INR", "currency: rupees")
    (mappings / "uniware.yaml").write_text(broken + "bogus: 1\n")
    (tmp_path / "config.yaml").write_text(
        "mappings_dir: mappings\nroutes:\n  - from: uniware\n    to: [nowhere]\n"
    )
    out = pohub("check-config", "--config", str(tmp_path / "config.yaml"))
    err = out.stderr.decode()
    assert out.returncode != 0
    assert "config.yaml:4: $.routes[0].to[0]: unknown system 'nowhere'" in err
    assert "uniware.yaml:" in err and "$.bogus" in err
    assert "$.defaults.currency" in err


def test_a_plan_that_stops_before_another_partys_step_exits_3() -> None:
    """A PO SENT at the hub asks AlphaAlpha for approve-supplier, the supplier's step: the
    plan stops before it, and translate says so and exits 3 (it is not the whole order)."""
    canonical = pohub("translate", "--from", "uniware", "--to", "canonical", str(UNIWARE))
    event = orjson.loads(canonical.stdout)
    event["source_system"] = "canonical"
    event["po"]["status"], event["po"]["source_status"] = "SENT", None
    out = pohub("translate", "--from", "canonical", "--to", "alphaalpha", stdin=orjson.dumps(event))
    assert out.returncode == 3, out.stderr
    assert b"stops before approve-supplier" in out.stderr


def test_a_value_the_target_cannot_express_exits_3() -> None:
    """25.5 KG into AppliQloud's integer quantity, with no units.convert row for KG."""
    canonical = pohub("translate", "--from", "uniware", "--to", "canonical", str(UNIWARE))
    event = orjson.loads(canonical.stdout)
    event["source_system"] = "canonical"
    event["po"]["lines"][0].update({"quantity": "25.5", "unit": "KG"})
    out = pohub("translate", "--from", "canonical", "--to", "appliqloud", stdin=orjson.dumps(event))
    assert out.returncode == 3, out.stderr
    assert b"cannot express in appliqloud at $.inputs[0].items[0].quantity" in out.stderr
