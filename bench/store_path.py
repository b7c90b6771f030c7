"""CPU per accepted event and per store call on the embedded store, in one process.

What ``bench/e2e.py`` shows end to end (with HTTP and a worker) is made of these: this
script isolates the inbound half, ``Ingest.ingest`` of a one-line Uniware PO on SQLite under
uvloop (parse, the store's lookup, the write, the crosswalk link), and the cost of one point
read the two ways the store can make it: a hop to the store thread (``_run``) or on the
caller's thread (``_point_read``, what ``get_po``/``lookup``/``find_remote`` use). Beside
them, in the same run, the baseline: ``orjson.loads`` + ``orjson.dumps`` of the same body.
CPU is ``time.process_time`` (every thread of the process), medians of ``--rounds``.

    uv run python bench/store_path.py [--events 3000] [--reads 5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson
import structlog
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.model import PurchaseOrder
from gateway.intake.ingest import Ingest
from gateway.store.sqlite import SqliteStore, _po
from tests import support

SAMPLE = support.ROOT / "adapters" / "uniware" / "samples" / "approved-po.json"


def bodies(n: int, round_: int) -> list[bytes]:
    doc = orjson.loads(SAMPLE.read_bytes())
    return [orjson.dumps(dict(doc, code=f"B{round_}-{i:06d}")) for i in range(n)]


async def ingest_us(store: SqliteStore, events: int, round_: int) -> float:
    ingest = Ingest(store, support.mappings(), {"uniware": ["leo"]})
    todo = bodies(events, round_)
    started = time.process_time()
    for body in todo:
        await ingest.ingest("uniware", body, {})
    return (time.process_time() - started) / events * 1e6


async def read_us(store: SqliteStore, reads: int, inline: bool) -> float:
    def one(c: object) -> PurchaseOrder | None:
        return _po(c, "PO-READ")  # type: ignore[arg-type]

    started = time.process_time()
    for _ in range(reads):
        await (store._point_read(one) if inline else store._run(one))
    return (time.process_time() - started) / reads * 1e6


def baseline_us(n: int) -> float:
    body = SAMPLE.read_bytes()
    started = time.process_time()
    for _ in range(n):
        orjson.dumps(orjson.loads(body))
    return (time.process_time() - started) / n * 1e6


async def main(args: argparse.Namespace) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    found: dict[str, list[float]] = {"ingest": [], "hop": [], "inline": [], "orjson": []}
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(f"sqlite:///{tmp}/bench.db")
        await store.open()
        await store.update_po("PO-READ", lambda _: PurchaseOrder(po_number="PO-READ"))
        try:
            for r in range(args.rounds):
                found["ingest"].append(await ingest_us(store, args.events, r))
                found["hop"].append(await read_us(store, args.reads, inline=False))
                found["inline"].append(await read_us(store, args.reads, inline=True))
                found["orjson"].append(baseline_us(args.events))
        finally:
            await store.close()
    med = {k: statistics.median(v) for k, v in found.items()}
    print(f"{args.events} one-line Uniware POs per round, {args.rounds} rounds, uvloop, SQLite")
    print("| what | CPU µs (median) | vs orjson loads+dumps |")
    print("|---|---:|---:|")
    for label, key in (("Ingest.ingest, one event", "ingest"),
                       ("point read, hop to the store thread", "hop"),
                       ("point read, on the caller's thread", "inline"),
                       ("baseline: orjson loads + dumps of the body", "orjson")):  # fmt: skip
        print(f"| {label} | {med[key]:.0f} | {med[key] / med['orjson']:.0f}x |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--reads", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    uvloop.run(main(parser.parse_args()))
