"""The daemon's RSS while it works through a large backlog (goal: flat, under 200 MB).

The outbox holds the backlog before the daemon starts (200 shops' copies of one shop's weeks of business);
the simulator has no rate limit, so the daemon ingests, claims and delivers flat out. RSS is sampled each
second; "growth" compares the peak of the last third of the run with that of the first third.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import bridge, daemon, figure, fill, shop_template, simulator, state_counts


def run(*, events: int = 1_000_000, seconds: float = 60.0, shops: int = 200) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="obx-bench-") as tmp, simulator(shops) as sim:
        laid = bridge(Path(tmp) / "bridge", sim)
        total = fill(laid.outbox, list(laid.shop_tokens), shop_template(events // shops))
        samples: list[float] = []
        with daemon(laid) as proc:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                samples.append(proc.rss_mb())
                time.sleep(1.0)
            counts = state_counts(laid.state)
    third = max(1, len(samples) // 3)
    peak, growth = max(samples), max(samples[-third:]) - max(samples[:third])
    ingested = sum(counts.values())
    note = (f"{total:,}-event backlog, {seconds:.0f} s: start {samples[0]:.0f} MB, peak {peak:.0f} MB, "
            f"{ingested:,} ingested, {counts.get('delivered', 0):,} delivered meanwhile")  # fmt: skip
    return [
        figure("RSS with the backlog, peak", peak, "MB", "< 200 MB", peak < 200, note),
        figure("RSS growth, last third vs first third", growth, "MB", "flat (< 10 % of peak)", growth < peak / 10),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    run(events=args.events, seconds=args.seconds)


if __name__ == "__main__":
    main()
