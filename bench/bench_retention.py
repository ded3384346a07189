"""State database bytes per delivered event, before and after retention (goal: at most 1 kB after).

The real daemon delivers a realistic backlog (the shop simulator's tickets, payments and closings) to the Pennylane
simulator; it is stopped, the settled deliveries are pruned as the daemon does after ``daemon.retention_days``
(``Retention.prune``, here with an age of 0), and the bytes the database uses are divided by the events delivered.
"Uses": pages in use (``page_count - freelist_count``, after a WAL checkpoint): SQLite reuses the freed pages for
new rows, so this is what the database grows by per event in the long run; the size of a ``VACUUM INTO`` copy
says the same from the file system. What stays is the delivery row (dedup memory), piece numbers, attempt
outcomes, the Z control's payloads (payments, closings), the id caches and the audit log.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import bridge, daemon, figure, fill, shop_template, simulator, state_counts

from outboxd.store import open_store

GOAL_BYTES = 1024


def run(*, shops: int = 20, per_shop: int = 200) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="obx-bench-") as tmp, simulator(shops) as sim:
        laid = bridge(Path(tmp) / "bridge", sim)
        total = fill(laid.outbox, list(laid.shop_tokens), shop_template(per_shop))
        with daemon(laid):
            deadline = time.monotonic() + max(120.0, total / 20)
            while time.monotonic() < deadline:
                counts = state_counts(laid.state)
                if sum(counts.get(s, 0) for s in ("delivered", "failed", "skipped")) >= total:
                    break
                time.sleep(0.5)
        delivered = state_counts(laid.state).get("delivered", 0)
        before = _in_use(laid.state)
        tables_before = _per_table(laid.state)
        pruned = asyncio.run(_prune(laid.state))
        after = _in_use(laid.state)
        _print_tables(tables_before, _per_table(laid.state), delivered)
        copy = Path(tmp) / "vacuumed.sqlite3"
        with sqlite3.connect(laid.state) as conn:
            conn.execute("VACUUM INTO ?", (str(copy),))
        vacuumed = copy.stat().st_size
    per_event = after / max(delivered, 1)
    note = (
        f"{shops} shops, {total:,} events, {delivered:,} delivered, {pruned:,} pruned; before retention "
        f"{before / max(delivered, 1):,.0f} B/event; a VACUUM INTO copy {vacuumed / max(delivered, 1):,.0f} B/event"
    )
    return [figure("state bytes per delivered event after retention", per_event, "B", "<= 1 kB",
                   per_event <= GOAL_BYTES, note)]  # fmt: skip


async def _prune(state: Path) -> int:
    async with open_store(state, owner="bench-retention") as store:
        return await store.retention.prune(dt.timedelta(0))


def _in_use(state: Path) -> int:
    """Bytes of the pages holding data, after the WAL is folded into the file."""
    with sqlite3.connect(state) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages, free, size = (conn.execute(f"PRAGMA {name}").fetchone()[0] for name in
                             ("page_count", "freelist_count", "page_size"))  # fmt: skip
    return int((pages - free) * size)


def _per_table(state: Path) -> dict[str, int]:
    """Bytes of the pages of each table and index (SQLite's dbstat)."""
    with sqlite3.connect(state) as conn:
        return {name: int(size) for name, size in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")}


def _print_tables(before: dict[str, int], after: dict[str, int], delivered: int) -> None:
    """Where the bytes are, per delivered event: each table and index of 5 B or more, before and after retention."""
    per = max(delivered, 1)
    print(f"{'table or index':<36} {'before':>8} {'after':>8}  (B per delivered event)")
    for name in sorted(after, key=lambda name: -after[name]):
        if max(before.get(name, 0), after[name]) / per >= 5:
            print(f"{name:<36} {before.get(name, 0) / per:>8,.0f} {after[name] / per:>8,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=20)
    parser.add_argument("--per-shop", type=int, default=200, help="events per shop (default 200)")
    args = parser.parse_args()
    run(shops=args.shops, per_shop=args.per_shop)


if __name__ == "__main__":
    main()
