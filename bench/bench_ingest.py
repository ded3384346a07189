"""Peak memory of ingesting an outbox of big rows (goal: at most 5 x the 8 MB one batch may load, whatever the
backlog).

An outbox of ``rows`` payloads of ``size`` bytes (900 kB: under the contract's 1 MB) is ingested into a fresh state
database by a process of its own, whose peak RSS (``VmHWM``: ``ru_maxrss`` would count the parent's at the fork)
is compared with its RSS once the store and the
outbox are open: the difference is what ingestion held at its worst. Before the readers measured payloads in SQL,
one read loaded up to 1,000 rows whatever their size (here the whole backlog).

    .venv/bin/python bench/bench_ingest.py --rows 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness import figure

from outboxd.outbox import INSERT_SQL, OutboxSource, open_outbox
from outboxd.store import open_store
from outboxd.store.deliveries import INGEST_BATCH_BYTES

GOAL_MB = 5 * INGEST_BATCH_BYTES / 2**20
"""The batch's payloads as Python text, their copies bound into the INSERT (three of its parameters), SQLite's
caches and the allocator's slack: a bound set by the batch, not by the backlog."""


def run(*, rows: int = 200, size: int = 900_000) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="obx-bench-") as tmp:
        outbox, state = Path(tmp) / "outbox.sqlite3", Path(tmp) / "state.sqlite3"
        conn = open_outbox(outbox)
        with conn:
            pad = "x" * size
            conn.executemany(INSERT_SQL, [
                (f"big-{n}", "shop-1", "order.recorded", f"order:{n}", "2026-03-14T18:02:11+01:00",
                 json.dumps({"order_id": f"order:{n}", "business_date": "2026-03-14", "pad": pad}))
                for n in range(rows)
            ])  # fmt: skip
        conn.close()
        done = subprocess.run([sys.executable, __file__, "--child", str(outbox), str(state)],
                              capture_output=True, text=True, check=True)  # fmt: skip
    ready, peak, ingested = (int(value) for value in done.stdout.split())
    grown = (peak - ready) / 1024
    note = (f"{ingested:,} rows of {size / 1000:,.0f} kB ({rows * size / 1e6:,.0f} MB of payloads); RSS "
            f"{ready / 1024:,.0f} MB with the store open, {peak / 1024:,.0f} MB at the peak")  # fmt: skip
    print(f"ingest of big rows: peak RSS {peak / 1024:,.0f} MB, {grown:,.0f} MB over the open store ({note})")
    return [figure("ingest's peak memory over the open store (big rows)", grown, "MB", f"<= {GOAL_MB:.0f} MB",
                   grown <= GOAL_MB, note)]  # fmt: skip


async def _ingest(outbox: Path, state: Path) -> None:
    """The child: open, note the RSS, ingest everything; print the RSS when ready, the peak (kB) and the rows."""
    async with OutboxSource(outbox) as source, open_store(state, owner="bench-ingest") as store:
        ready = _status_kb("VmRSS")
        ingested = 0
        while added := await store.deliveries.ingest_from(source):
            ingested += added
    print(ready, _status_kb("VmHWM"), ingested)


def _status_kb(field: str) -> int:
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(f"{field}:"))
    return int(line.split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--child", nargs=2, type=Path, metavar=("OUTBOX", "STATE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(_ingest(*args.child))
    else:
        run(rows=args.rows)


if __name__ == "__main__":
    main()
