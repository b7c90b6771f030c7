"""µs per PO for every ordered pair of dialects at 1, 10 and 100 lines.

Each source payload is built by writing one canonical PO (the Uniware document sample,
its line repeated N times) in the source's own dialect, so every system is measured on the
same PO. Next to each translation (parse + render + orjson.dumps of the output) stands the
baseline measured in the same run: ``orjson.loads`` + ``orjson.dumps`` of the same payload.
A target that names a PO by its own ids (EnKash) gets what the hub would have learnt from it
(``tests.support.remote_for``), as the worker does. Target (issue 14): ratio <= 4 for every
ordered pair at every size; the final block prints the worst and median ratio per size and
whether the worst meets it.

    uv run python bench/translate.py [--sizes 1,10,100] [--repeat 5] [--only SRC>DST,...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import timeit
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters import registry
from bench._setup import verdict
from core.adapter import RenderContext
from core.errors import PohubError
from core.model import EventKind, PoEvent, PurchaseOrder
from tests import support

TARGET = 4.0


class Unsendable(Exception):
    """The pair cannot carry this PO at all (the golden of such a pair is its error record)."""


def canonical_po(lines: int) -> PurchaseOrder:
    base = support.parse_sample("uniware", registry.samples_dir("uniware") / "approved-po.json")
    po = base[0].po
    assert po is not None
    copies = [po.lines[0].model_copy(update={"line_number": str(i + 1)}) for i in range(lines)]
    return po.model_copy(update={"lines": copies, "extensions": {}})


def payload(system: str, po: PurchaseOrder) -> bytes:
    """The PO written in ``system``'s dialect (stripped of Uniware's own extensions)."""
    event = PoEvent(kind=EventKind.UPDATED, po_number=po.po_number, source_system="bench", po=po,
                    occurred_at=po.created_at)  # fmt: skip
    to_wire = getattr(registry.get(system), "to_wire", None)
    if to_wire is not None:
        return orjson.dumps(to_wire(event, support.mappings()[system]))
    return orjson.dumps(support.render_all(system, [event]))


def per_call_us(fn: Any, repeat: int) -> float:
    # CPU time of this process, not wall time: the machine is shared, and a translation is
    # pure CPU work, so time spent waiting for a core is not its cost
    timer = timeit.Timer(fn, timer=time.process_time)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def measure(
    source: str, target: str, body: bytes, state: PurchaseOrder, repeat: int
) -> tuple[float, float]:
    src, dst = registry.get(source), registry.get(target)
    m_src, m_dst = support.mappings()[source], support.mappings()[target]
    ctx = RenderContext(m_dst, state, support.remote_for(target))

    def translate() -> bytes:
        events = src.parse(body, m_src, {})
        for event in events:
            event.occurred_at = event.occurred_at or support.RECEIVED_AT
        return orjson.dumps(dst.combine([dst.render(ev, ctx) for ev in events]))

    def baseline() -> bytes:
        return orjson.dumps(orjson.loads(body))

    try:
        translate()  # fail loudly before timing
    except PohubError as exc:
        raise Unsendable(f"{type(exc).__name__}: {exc}") from None
    return per_call_us(translate, repeat), per_call_us(baseline, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,10,100")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default="", help="pairs, e.g. leo>enkash,uniware>leo")
    args = parser.parse_args()
    systems = registry.system_ids()
    only = {tuple(p.split(">")) for p in args.only.split(",") if p}
    ratios: dict[int, list[tuple[float, str]]] = {}
    unsendable: list[str] = []
    head = ("from", "to", "lines", "bytes", "translate µs", "orjson µs", "ratio")
    print("{:<11} {:<11} {:>5} {:>7} {:>13} {:>10} {:>6}".format(*head))
    for size in (int(s) for s in args.sizes.split(",")):
        po = canonical_po(size)
        for source in systems:
            body = payload(source, po)
            for target in systems:
                if target == source or (only and (source, target) not in only):
                    continue
                try:
                    t, b = measure(source, target, body, po, args.repeat)
                except Unsendable as exc:
                    unsendable.append(f"{source}>{target} at {size} lines: {exc}")
                    print(f"{source:<11} {target:<11} {size:>5} {len(body):>7}  unsendable")
                    continue
                ratios.setdefault(size, []).append((t / b, f"{source}>{target}"))
                row = (source, target, size, len(body), t, b, t / b)
                print("{:<11} {:<11} {:>5} {:>7} {:>13.1f} {:>10.2f} {:>6.1f}".format(*row))
    print()
    for line in unsendable:
        print(f"not measured, untranslatable: {line[:160]}")
    targets = []
    for size, values in ratios.items():
        median = statistics.median(r for r, _ in values)
        worst, pair = max(values)
        print(f"lines={size:<4} pairs {len(values)}  ratio median {median:.1f}  worst {worst:.1f} "
              f"({pair})  (target <= {TARGET:g} for every pair)")  # fmt: skip
        targets.append((f"translate/orjson, {size} lines, worst pair", worst, None, TARGET))
        targets.append((f"translate/orjson, {size} lines, median pair", median, None, TARGET))
    verdict(targets)


if __name__ == "__main__":
    main()
