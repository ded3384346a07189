"""One shop under Pennylane's real rate limit (25 requests per 5 s per token): how much of the budget the
daemon uses, how many 429s it gets, and how many requests each event costs once its accounts exist.

The simulator enforces 25/5 s; the daemon paces itself with the same figure. The outbox holds more events
than the window can carry. Measurement starts after the warm-up (journals, accounts, first customers).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import bridge, count_rows, daemon, figure, fill, shop_template, simulator, state_counts, wait_for

LIMIT, WINDOW = 25, 5.0


def run(*, seconds: float = 60.0, warm: int = 40) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="obx-bench-") as tmp, simulator(1, rate_limit=f"{LIMIT}/{WINDOW:g}") as sim:
        laid = bridge(Path(tmp) / "bridge", sim, rate_limit=(LIMIT, WINDOW))
        events = int(seconds / WINDOW * LIMIT * 2) + warm + 100
        fill(laid.outbox, list(laid.shop_tokens), shop_template(events))
        with daemon(laid):
            wait_for(lambda: state_counts(laid.state).get("delivered", 0) >= warm, within=120)
            before, delivered_before, started = sim.stats(), state_counts(laid.state).get("delivered", 0), time.time()
            customers_before = count_rows(laid.state, "customers")
            time.sleep(seconds)
            after, delivered_after, ended = sim.stats(), state_counts(laid.state).get("delivered", 0), time.time()
            customers = count_rows(laid.state, "customers") - customers_before
    requests = after["requests"] - before["requests"]
    throttled = after["throttled"] - before["throttled"]
    delivered = delivered_after - delivered_before
    budget = LIMIT * (ended - started) / WINDOW
    share = 100 * requests / budget
    per_event = requests / delivered if delivered else float("inf")
    note = f"{requests} requests in {ended - started:.0f} s (budget {budget:.0f}), {delivered} events delivered"
    why = f"{customers} new customers meanwhile (find + create + read its account: 3 requests each)"
    return [
        figure("rate limit: share of the 25 req / 5 s budget used", share, "%", ">= 95 %", share >= 95, note),
        figure("rate limit: 429s received", throttled, "", "0", throttled == 0),
        figure("rate limit: requests per event (steady state)", per_event, "", "<= 1.05", per_event <= 1.05, why),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    run(seconds=parser.parse_args().seconds)


if __name__ == "__main__":
    main()
