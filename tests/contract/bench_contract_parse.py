"""Parse throughput of simulated order events, as the bridge reads them (payload as JSON text).

Run: .venv/bin/python tests/contract/bench_contract_parse.py [EVENTS]
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time

from outboxd.contract import parse_event
from outboxd.shop_simulator import simulate_shop


def main(count: int) -> None:
    rows = []
    for simulated in simulate_shop("bench", days=count // 100 + 1, orders_per_day=100, registers=2, seed=1,
                                   start=dt.date(2026, 3, 2)):
        if simulated["event_type"] == "order.recorded":
            rows.append({**simulated, "id": len(rows) + 1, "payload": json.dumps(simulated["payload"])})
    rows = rows[:count]
    payloads = [r["payload"] for r in rows]
    started = time.perf_counter()
    for text in payloads:
        json.loads(text)
    json_only = time.perf_counter() - started
    started = time.perf_counter()
    for row in rows:
        parse_event(row)
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    sum(range(10_000_000))
    calibration = time.perf_counter() - started
    print(f"{len(rows)} order events: {len(rows) / elapsed:,.0f} events/s parsed "
          f"(json.loads alone: {len(rows) / json_only:,.0f}/s; this machine sums range(10**7) in {calibration:.2f} s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
