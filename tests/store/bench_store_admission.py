"""Cost of checking outbox rows' columns before ingestion (store.admission), per row, on simulated events.

Run: .venv/bin/python tests/store/bench_store_admission.py [ROWS]
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time

from outboxd.shop_simulator import simulate_shop
from outboxd.store.admission import admitted
from outboxd.store.models import OutboxRow


def main(count: int) -> None:
    rows = []
    for n, event in enumerate(simulate_shop("bench", days=count // 100 + 1, orders_per_day=60, registers=2, seed=1,
                                            start=dt.date(2026, 3, 2))):  # fmt: skip
        payload = json.dumps(event["payload"], ensure_ascii=False)
        rows.append(OutboxRow(n + 1, event["event_id"], event["shop_id"], event["event_type"], event["aggregate_id"],
                              event["occurred_at"], payload, "2026-03-02T10:00:00.000Z", len(payload.encode())))
    rows = rows[:count]
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        admitted(rows, "2026-03-02T10:00:00.000000Z")
        best = min(best, time.perf_counter() - started)
    print(f"{len(rows)} rows: {best / len(rows) * 1e6:.1f} µs per row to check before ingestion "
          f"({len(rows) / best:,.0f} rows/s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
