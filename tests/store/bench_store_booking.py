"""What ingestion's booking-mode step costs, per row: a shop booking detailed (nothing runs but one look-up), the
same with a daily shop elsewhere, and the shop itself booking daily (its register-days decided and held).

Run: .venv/bin/python tests/store/bench_store_booking.py [ROWS]
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

from outboxd.outbox import OutboxSource, ensure_outbox, open_outbox
from outboxd.outbox.producer import insert_events
from outboxd.shop_simulator import simulate_shop
from outboxd.store import open_store
from outboxd.store.history import History


async def ingest(rows: list[dict[str, object]], daily: str | None, root: Path) -> float:
    """Seconds to ingest ``rows`` of shop ``bench`` (connected) in batches of 1,000; ``daily``: a shop booking daily."""
    outbox = root / "outbox.sqlite3"
    ensure_outbox(outbox)
    conn = open_outbox(outbox)
    insert_events(conn, rows)
    conn.close()
    async with open_store(root / "state.sqlite3", owner="bench") as store, OutboxSource(outbox) as source:
        await History(store.db, store.clock).first_connection("bench", hold=False, through=0)
        if daily is not None:
            await store.booking.switch(daily, "daily", "2026-01-01", "bench", "measure")
        started = time.perf_counter()
        while await store.deliveries.ingest_from(source):
            pass
        return time.perf_counter() - started


async def main(count: int) -> None:
    rows = list(simulate_shop("bench", days=count // 300 + 1, orders_per_day=150, registers=2, seed=1,
                              start=dt.date(2026, 3, 2)))[:count]  # fmt: skip
    for name, daily in (("detailed, no shop daily", None), ("detailed, another shop daily", "other"),
                        ("daily", "bench")):  # fmt: skip
        with tempfile.TemporaryDirectory() as folder:
            seconds = await ingest(rows, daily, Path(folder))
        print(f"{name:30} {len(rows)} rows: {seconds / len(rows) * 1e6:6.1f} µs per row ingested")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
