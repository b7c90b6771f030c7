"""µs per PO for every ordered pair of dialects at 1, 10 and 100 lines.

Each source payload is built by writing one canonical PO (the Uniware document sample,
its line repeated N times) in the source's own dialect, so every system is measured on the
same PO. Next to each translation (parse + render + orjson.dumps of the output) stands the
baseline measured in the same run: ``orjson.loads`` + ``orjson.dumps`` of the same payload.
Target: ratio <= 4 at every size.

    uv run python bench/translate.py [--sizes 1,10,100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import timeit
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters import registry
from core.adapter import RenderContext
from core.model import EventKind, PoEvent, PurchaseOrder
from tests import support


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
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def measure(
    source: str, target: str, body: bytes, state: PurchaseOrder, repeat: int
) -> tuple[float, float]:
    src, dst = registry.get(source), registry.get(target)
    m_src, m_dst = support.mappings()[source], support.mappings()[target]
    ctx = RenderContext(m_dst, state)

    def translate() -> bytes:
        events = src.parse(body, m_src, {})
        for event in events:
            event.occurred_at = event.occurred_at or support.RECEIVED_AT
        return orjson.dumps(dst.combine([dst.render(ev, ctx) for ev in events]))

    def baseline() -> bytes:
        return orjson.dumps(orjson.loads(body))

    translate()  # fail loudly before timing
    return per_call_us(translate, repeat), per_call_us(baseline, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,10,100")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    systems = registry.system_ids()
    ratios: dict[int, list[float]] = {}
    head = ("from", "to", "lines", "bytes", "translate µs", "orjson µs", "ratio")
    print("{:<11} {:<11} {:>5} {:>7} {:>13} {:>10} {:>6}".format(*head))
    for size in (int(s) for s in args.sizes.split(",")):
        po = canonical_po(size)
        for source in systems:
            body = payload(source, po)
            for target in systems:
                if target == source:
                    continue
                t, b = measure(source, target, body, po, args.repeat)
                ratios.setdefault(size, []).append(t / b)
                row = (source, target, size, len(body), t, b, t / b)
                print("{:<11} {:<11} {:>5} {:>7} {:>13.1f} {:>10.2f} {:>6.1f}".format(*row))
    print()
    for size, values in ratios.items():
        median, worst = statistics.median(values), max(values)
        print(f"lines={size:<4} ratio median {median:.1f}  worst {worst:.1f}  (target <= 4.0)")


if __name__ == "__main__":
    main()
