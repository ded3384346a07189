"""Backfill throughput against the simulator with its rate limit: both modes, real daemon in-process.

    .venv/bin/python bench/bench_backfill.py [--scale 10] [--detailed-days 14] [--daily-days 365] [--tickets 150]
                                             [--window SECONDS [--warmup SECONDS]] [--latency-ms MS]
                                             [--live-every SECONDS]

The simulator allows 25 requests per 5/scale seconds and the daemon's limiter is set to the same window (its
jitter margin scaled too), so with ``--scale 10`` everything runs 10 times faster than at Pennylane's real
limit and the figures "at the real limit" multiply the measured times back by ``scale``; ``--scale 1`` is the
real limit. ``--window`` measures a bounded stretch of steady state (after ``--warmup`` seconds) instead of the
whole run: requests, events settled and 429s between its two ends. ``--latency-ms`` adds that much to every
answer of the simulator (Pennylane's round trips are 0.1-0.3 s; loopback is ~2 ms). A shop with 2 registers
and ``tickets`` tickets per register per day; history held, then one backfill per mode on a fresh bridge.

``--live-every`` writes one live event (today's tickets and payments) that often (seconds at the real limit)
while the backfill runs, and prints the live events' latency, INSERT -> delivered, p50 and p99 (at the real limit:
measured times ``scale``) and claimed -> delivered (the rest is the wait for a free slot of the lane).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # books, for backfill_world
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "backfill"))

import structlog
from backfill_world import Running, World

from outboxd.outbox import ensure_outbox
from outboxd.pennylane import RateLimiter
from outboxd.pennylane_simulator import Sandbox, run_sandbox
from outboxd.secrets import ensure_key_file
from outboxd.shop_simulator import simulate_shop


def live_rows(orders: int) -> list[dict[str, Any]]:
    """Today's tickets and payments, with numbers of their own (as tests/backfill/test_backfill_live.py)."""
    rows = simulate_shop("s1", days=1, orders_per_day=orders, registers=2, seed=99, start=dt.date.today())
    text = json.dumps([r for r in rows if r["event_type"] in ("order.recorded", "payment.recorded")])
    for old, new in (('"o-', '"live-o-'), (":o-", ":live-o-"), ('"p-', '"live-p-'), ('"T-', '"LT-'), ('"A-', '"LA-')):
        text = text.replace(old, new)
    live: list[dict[str, Any]] = json.loads(text)
    return live


async def write_live(world: World, rows: list[dict[str, Any]], every: float, written: dict[str, float]) -> None:
    """One live event every ``every`` seconds, its INSERT time noted (until the rows run out or it is cancelled)."""
    for row in rows:
        written[row["event_id"]] = time.time()
        world.write([row])
        await asyncio.sleep(every)


async def live_latencies(daemon: Any, written: dict[str, float]) -> tuple[list[float], list[float]]:
    """Of each live event written, once every one is delivered: INSERT -> delivered, and claimed -> delivered
    (from its first attempt's start; the rest is the wait for a free slot of the lane)."""
    ids = list(written)
    marks = ", ".join("?" * len(ids))
    query = (
        "SELECT d.event_id, d.delivered_at, (SELECT min(a.started_at) FROM attempts a WHERE a.delivery_id = d.id)"  # noqa: S608 (placeholders)
        f" FROM deliveries d WHERE d.event_id IN ({marks}) AND d.state = 'delivered'"
    )
    while len(rows := await daemon.store.db.read(query, ids)) < len(ids):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    at = dt.datetime.fromisoformat
    total = sorted(at(done).timestamp() - written[event_id] for event_id, done, _ in rows)
    return total, sorted((at(done) - at(claimed)).total_seconds() for _, done, claimed in rows)


async def one_mode(mode: str, days: int, args: argparse.Namespace) -> dict[str, Any]:
    tickets, scale = args.tickets, args.scale
    window = 5.0 / scale
    sandbox = Sandbox(rate_limit=(25, window))
    today = dt.date.today()
    start = today - dt.timedelta(days=days + 1)
    rows = list(simulate_shop("s1", days=days, orders_per_day=2 * tickets, registers=2, seed=7, start=start,
                              on_account=args.on_account))
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
            world.connected, world.rate_limit = True, (25, window)
            async with Running(world.config()) as daemon:
                lane = daemon.lanes["s1"]
                assert lane.client is not None
                lane.client.limiter = RateLimiter(25, window, jitter_margin=0.1 / scale)
                while (await daemon.store.queue.stats("s1"))[0].pending > len(rows) - 1:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)  # the reference snapshot (journals, accounts) goes first
                sandbox.faults.latency_ms = args.latency_ms
                token = next(iter(sandbox.request_count))
                estimate = await daemon.backfills.estimate("s1", start.isoformat())
                first = await _sample(daemon, sandbox, token)  # the reference snapshot's requests are behind
                quarter: tuple[float, float] | None = None  # (when, the ETA shown) once a quarter is done
                await daemon.backfills.start("s1", "bench", start.isoformat(), mode)
                written: dict[str, float] = {}
                live = None
                if args.live_every:
                    live = asyncio.create_task(write_live(world, live_rows(500), args.live_every / scale, written))
                if args.window:
                    await asyncio.sleep(args.warmup)
                    first = await _sample(daemon, sandbox, token)
                    await asyncio.sleep(args.window)
                else:
                    while (state := await daemon.backfills.get("s1")) is None or state["state"] != "done":
                        if quarter is None and state and state["eta"] and state["done"] >= state["total"] / 4:
                            quarter = (time.monotonic(), state["eta"])
                        await asyncio.sleep(0.1)
                last = await _sample(daemon, sandbox, token)
                eta = None if quarter is None else (quarter[1], last[0] - quarter[0])
                if live is not None:
                    live.cancel()
                latencies = await live_latencies(daemon, written) if written else ([], [])
                stats = (await daemon.store.queue.stats("s1"))[0]
    wall, requests, events, throttled = (b - a for a, b in zip(first, last, strict=True))
    return {
        "mode": mode, "days": days, "events": events, "requests": requests, "wall": wall,
        "share": requests / (wall * 25 / window), "throttled": throttled, "per_event": requests / max(events, 1),
        "min_per_10k_real": wall * scale / max(events, 1) * 10_000 / 60, "estimate": estimate["modes"][mode],
        "history": len(rows) - 1, "delivered": stats.delivered, "failed": stats.failed,
        "entries": len(sandbox.entries(company)), "eta": eta, "latencies": latencies,
        "customers": len(sandbox.company(company).customer_refs),
    }  # fmt: skip


async def _sample(daemon: Any, sandbox: Sandbox, token: str) -> tuple[float, int, int, int]:
    """(time, requests, events settled, 429s) now."""
    state = await daemon.backfills.get("s1")
    done = state["done"] if state else 0
    return time.monotonic(), sandbox.request_count[token], done, sandbox.throttled_count[token]


def run(*, days: int, scale: float, tickets: int = 150, on_account: float = 0.01) -> list[dict[str, Any]]:
    """A daily backfill of ``days`` of a busy shop's history, as issue 15's figures for a year (bench/run.py)."""
    from harness import figure

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    args = argparse.Namespace(tickets=tickets, scale=scale, latency_ms=0, live_every=0.0, window=0.0, warmup=0.0,
                              on_account=on_account)  # fmt: skip
    r = asyncio.run(one_mode("daily", days, args))
    minutes = r["wall"] * scale / 60 * 365 / days
    how = "measured" if days >= 365 and scale == 1 else f"{days} days at x{scale:g}, scaled to a year at the real limit"
    print(f"backfill: {r['history']} events, {r['requests']} requests, {r['customers']} customers created", flush=True)
    return [
        figure("backfill: a year of 2 registers x 150 tickets a day, daily mode", minutes, "min", "<= 5", minutes <= 5,
               how),
        figure("backfill: requests per event, daily mode", r["per_event"], "", "<= 0.01", r["per_event"] <= 0.01),
        figure("backfill: 429s", r["throttled"], "", "0", r["throttled"] == 0),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=10.0, help="time scale K: the window is 5/K s (default 10)")
    parser.add_argument("--detailed-days", type=int, default=14)
    parser.add_argument("--daily-days", type=int, default=365)
    parser.add_argument("--tickets", type=int, default=150, help="tickets per register per day")
    parser.add_argument("--window", type=float, default=0.0, help="measure this many seconds of steady state only")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before the window opens (default 20)")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every answer of the simulator")
    parser.add_argument("--modes", default="detailed,daily", help="comma-separated (default detailed,daily)")
    parser.add_argument("--on-account", type=float, default=0.01,
                        help="share of named customers' tickets bought on account, paid days later (default 0.01)")
    parser.add_argument("--live-every", type=float, default=0.0, help="a live event this often (real-limit seconds)")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    scaled = f"time-scaled x{args.scale:g}" if args.scale != 1 else "the real limit"
    print(f"rate limit: 25 requests per {5.0 / args.scale:g} s ({scaled}), latency +{args.latency_ms} ms")
    for mode, days in (("detailed", args.detailed_days), ("daily", args.daily_days)):
        if mode not in args.modes.split(","):
            continue
        r = asyncio.run(one_mode(mode, days, args))
        year = r["history"] / days * 365
        what = f"a {r['wall']:.0f} s window" if args.window else "the whole run"
        shown = r["estimate"]
        print(
            f"{r['mode']:8} {r['days']} days, {r['history']} events of history; over {what}: {r['events']} events"
            f" settled, {r['requests']} requests, {100 * r['share']:.1f} % of the limit, {r['throttled']} x 429,"
            f" {r['per_event']:.3f} requests/event, {r['min_per_10k_real']:.1f} min per 10,000 events at the real"
            f" limit, a year ({year:.0f} events) in {r['min_per_10k_real'] * year / 10_000 / 60:.2f} h;"
            f" estimate shown: {shown['requests']} requests ({shown['requests'] / r['history']:.3f}/event),"
            f" {shown['seconds'] * args.scale:g} s at the real limit"
            f" [entries {r['entries']}, customers created {r['customers']}, delivered {r['delivered']},"
            f" failed {r['failed']}; the run took {r['wall'] * args.scale / 60:.1f} min at the real limit]"
        )
        if r["eta"]:
            print(f"         ETA shown at a quarter done: {r['eta'][0]:.0f} s; it took {r['eta'][1]:.0f} s")
        total, claimed = r["latencies"]
        if total:
            p50, p99, c50, c99 = (
                xs[min(len(xs) - 1, int(q * len(xs)))] for xs in (total, claimed) for q in (0.5, 0.99)
            )
            print(
                f"         live beside it: {len(total)} events, INSERT -> delivered"
                f" p50 {p50:.2f} s, p99 {p99:.2f} s (claimed -> delivered p50 {c50:.2f} s, p99 {c99:.2f} s);"
                f" at the real limit p50 {p50 * args.scale:.1f} s, p99 {p99 * args.scale:.1f} s"
                f" (claimed -> delivered {c50 * args.scale:.1f} s, {c99 * args.scale:.1f} s)"
            )


if __name__ == "__main__":
    main()
