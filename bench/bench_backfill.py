"""Backfill throughput against the simulator with its rate limit, time-scaled: both modes, real daemon in-process.

    .venv/bin/python bench/bench_backfill.py [--scale 10] [--detailed-days 14] [--daily-days 365] [--tickets 150]

The simulator allows 25 requests per 5/scale seconds and the daemon's limiter is set to the same window (its
jitter margin scaled too), so everything runs ``scale`` times faster than at Pennylane's real limit; the
figures "at the real limit" multiply the measured times back by ``scale``. A shop with 2 registers and
``tickets`` tickets per register per day; history held, then one backfill per mode on a fresh bridge.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "backfill"))

import structlog
from conftest import Running, World

from outboxd.pennylane import RateLimiter
from outboxd.producer import ensure_outbox
from outboxd.sandbox import Sandbox, run_sandbox
from outboxd.secrets import ensure_key_file
from outboxd.simulator import simulate_shop


async def one_mode(mode: str, days: int, tickets: int, scale: float) -> dict[str, Any]:
    window = 5.0 / scale
    sandbox = Sandbox(rate_limit=(25, window))
    today = dt.date.today()
    start = today - dt.timedelta(days=days + 1)
    rows = list(simulate_shop("s1", days=days, orders_per_day=2 * tickets, registers=2, seed=7, start=start))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        async with run_sandbox(sandbox) as handle:
            years = [(str(start - dt.timedelta(days=1)), str(today + dt.timedelta(days=30)), "open")]
            company = sandbox.add_company("Boutique", fiscal_years=years).id
            ensure_key_file(root / "token.key")
            ensure_outbox(root / "outbox.sqlite3")
            world = World(root, sandbox, handle.api_url, company, connected=False)
            world.write(rows)
            async with Running(world.config()) as daemon:  # not connected: everything waits
                while (await daemon.store.queue.stats("s1") or [None])[0] is None or (  # noqa: ASYNC110
                    (await daemon.store.queue.stats("s1"))[0].pending < len(rows)
                ):
                    await asyncio.sleep(0.2)
            world.connected = True
            config = world.config()
            object.__setattr__(config.pennylane.rate_limit, "per_seconds", window)
            async with Running(config) as daemon:
                lane = daemon.lanes["s1"]
                assert lane.client is not None
                lane.client.limiter = RateLimiter(25, window, jitter_margin=0.1 / scale)
                while (await daemon.store.queue.stats("s1"))[0].pending > len(rows) - 1:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)  # the reference snapshot (journals, accounts) goes first
                token = next(iter(sandbox.request_count))
                before = sandbox.request_count[token]
                began = time.monotonic()
                await daemon.backfills.start("s1", "bench", start.isoformat(), mode)
                while (state := await daemon.backfills.get("s1")) is None or state["state"] != "done":  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
                wall = time.monotonic() - began
                stats = (await daemon.store.queue.stats("s1"))[0]
    requests = sandbox.request_count[token] - before
    events = len(rows) - 1
    return {
        "mode": mode, "days": days, "events": events, "requests": requests, "wall": wall,
        "share": requests / (wall * 25 / window), "throttled": sum(sandbox.throttled_count.values()),
        "per_event": requests / events, "min_per_10k_real": wall * scale / events * 10_000 / 60,
        "delivered": stats.delivered, "failed": stats.failed, "entries": len(sandbox.entries(company)),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=10.0, help="time scale K: the window is 5/K s (default 10)")
    parser.add_argument("--detailed-days", type=int, default=14)
    parser.add_argument("--daily-days", type=int, default=365)
    parser.add_argument("--tickets", type=int, default=150, help="tickets per register per day")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(f"rate limit: 25 requests per {5.0 / args.scale:g} s (Pennylane's 25 / 5 s time-scaled x{args.scale:g})")
    for mode, days in (("detailed", args.detailed_days), ("daily", args.daily_days)):
        r = asyncio.run(one_mode(mode, days, args.tickets, args.scale))
        year = r["events"] / days * 365
        print(
            f"{r['mode']:8} {r['days']} days, {r['events']} events -> {r['requests']} requests, {r['entries']} entries,"
            f" wall {r['wall']:.1f} s, {100 * r['share']:.0f} % of the limit, {r['throttled']} x 429,"
            f" {r['per_event']:.3f} requests/event, {r['min_per_10k_real']:.1f} min per 10,000 events at the real"
            f" limit, a year ({year:.0f} events) in {r['min_per_10k_real'] * year / 10_000 / 60:.1f} h"
            f" [delivered {r['delivered']}, failed {r['failed']}]"
        )


if __name__ == "__main__":
    main()
