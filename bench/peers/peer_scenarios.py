"""The four scenarios of bench_peers.py, each run for one contender at a time on a fresh simulator.

Events are the shop simulator's (harness.shop_template), copied per shop; what each contender should have booked
is what the rules engine makes of them (``pieces``), and the simulator's own entries say what it did book.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench_ratelimit import _burst_start
from harness import Simulator, shop_template, simulator
from peer_contenders import Contender

from outboxd.contract import ReferenceUpdated, parse_event
from outboxd.outbox import insert_events, open_outbox
from outboxd.rules import ShopMapping, book, effective_mapping

LIMIT, WINDOW = 25, 5.0
Rows = list[dict[str, Any]]


def rows_of(shops: list[str], template: list[tuple[str, str, str, str]], tag: str) -> Rows:
    """Every shop's copy of the template, interleaved shop by shop (harness.fill's order)."""
    return [{"event_id": f"{tag}-{shop}-{i}", "shop_id": shop, "event_type": kind, "aggregate_id": aggregate,
             "occurred_at": occurred, "payload": payload}
            for i, (kind, aggregate, occurred, payload) in enumerate(template) for shop in shops]  # fmt: skip


def insert(outbox: Path, rows: Rows) -> None:
    conn = open_outbox(outbox)
    try:
        insert_events(conn, rows)
    finally:
        conn.close()


def pieces(rows: Rows) -> dict[str, dict[str, str]]:
    """shop -> piece_number -> event_id: every entry the rules engine makes of these rows, per shop."""
    found: dict[str, dict[str, str]] = {}
    mappings: dict[str, ShopMapping] = {}
    for row in rows:
        event = parse_event(row)
        if isinstance(event.payload, ReferenceUpdated):
            mappings[row["shop_id"]] = effective_mapping(ShopMapping(), event.payload)
        booking = book(event, mappings.get(row["shop_id"], ShopMapping()))
        for entry in booking.entries:
            found.setdefault(row["shop_id"], {})[entry.piece_number] = row["event_id"]
    return found


def booked(sim: Simulator, shop: str) -> list[dict[str, Any]]:
    company = sim.tokens[int(shop.rsplit("-", 1)[1])][0]
    entries: list[dict[str, Any]] = sim.get(f"/_sandbox/companies/{company}/entries")
    return entries


def _wait(contender: Contender, total: int, within: float) -> list[tuple[float, int, Any]]:
    marks = []
    deadline = time.monotonic() + within
    while True:
        marks.append((time.monotonic(), contender.delivered(), contender.cpu()))
        if marks[-1][1] >= total or time.monotonic() > deadline:
            return marks
        time.sleep(0.25)


def throughput(name: str, tmp: Path, shops: int, per_shop: int, concurrency: int) -> dict[str, float]:
    with simulator(shops) as sim:
        contender = Contender(name, tmp / "throughput" / name, sim, concurrency=concurrency)
        rows = rows_of(contender.shops, shop_template(per_shop), "e")
        insert(contender.outbox, rows)
        contender.start()
        marks = _wait(contender, len(rows), within=60.0)
        contender.stop()
    delivered = marks[-1][1]
    lo = next(m for m in marks if m[1] >= len(rows) * 0.1)
    hi = next((m for m in marks if m[1] >= len(rows) * 0.9), marks[-1])
    count = hi[1] - lo[1]
    worker, server = hi[2].since(lo[2])
    return {"rate": count / (hi[0] - lo[0]) if hi[0] > lo[0] else 0.0, "delivered": delivered, "events": len(rows),
            "cpu_ms": (worker + server) / max(count, 1) * 1000, "server_ms": server / max(count, 1) * 1000}  # fmt: skip


def ratelimit(name: str, tmp: Path, seconds: float, concurrency: int, warm: int = 40) -> dict[str, float]:
    events = int(seconds / WINDOW * LIMIT * 2) + warm + 100
    with simulator(1, rate_limit=f"{LIMIT}/{WINDOW:g}") as sim:
        contender = Contender(name, tmp / "ratelimit" / name, sim, rate_limit=(LIMIT, WINDOW), concurrency=concurrency)
        insert(contender.outbox, rows_of(contender.shops, shop_template(events), "e"))
        contender.start()
        _wait(contender, warm, within=120.0)
        started, before = _burst_start(sim)
        delivered_before = contender.delivered()
        time.sleep(max(0.0, seconds - WINDOW))
        ended, after = _burst_start(sim)
        delivered = contender.delivered() - delivered_before
        contender.stop()
    requests, throttled = after["requests"] - before["requests"], after["throttled"] - before["throttled"]
    budget = LIMIT * (ended - started) / WINDOW
    return {"share": 100 * (requests - throttled) / budget, "throttled": after["throttled"],
            "per_event": requests / max(delivered, 1), "delivered": delivered}  # fmt: skip


@contextmanager
def _stderr_into(path: Path) -> Iterator[None]:
    """This process's stderr, and so the simulator's (a traceback per connection a kill cut), into ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = os.dup(2)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def kill_loop(name: str, tmp: Path, events: int, kills: int, concurrency: int, seed: int = 1) -> dict[str, float]:
    rng = random.Random(seed)
    with _stderr_into(tmp / "kill" / f"{name}-simulator.log"), simulator(2) as sim:
        faults(sim, {"drop_after_commit": 0.02, "latency_ms": 20, "seed": seed})
        contender = Contender(name, tmp / "kill" / name, sim, concurrency=concurrency)
        rows = rows_of(contender.shops, shop_template(events // 2, seed=seed), "k")
        insert(contender.outbox, rows[: len(rows) // 2])
        producer = threading.Thread(target=_produce, args=(contender.outbox, rows[len(rows) // 2 :], kills * 1.0))
        producer.start()
        for _ in range(kills):
            contender.start()
            time.sleep(rng.uniform(0.3, 1.5))
            contender.kill9()
        producer.join()
        contender.start()
        want = pieces(rows)
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline and not _complete(sim, want):
            time.sleep(0.5)
        time.sleep(2.0)  # a rerun still in flight would post its duplicate now
        contender.stop()
        lost: set[str] = set()
        twice = 0
        for shop, wanted in want.items():
            got = Counter(e["piece_number"] for e in booked(sim, shop))
            lost |= {wanted[p] for p in wanted if p not in got}
            twice += sum(n - 1 for n in got.values())
    if lost:
        print(f"  {name}: events lost, e.g. {', '.join(sorted(lost)[:5])}", flush=True)
    return {"lost": len(lost), "twice": twice, "events": len(rows), "pieces": sum(map(len, want.values()))}


def _produce(outbox: Path, rows: Rows, spread: float) -> None:
    batches = 20
    size = -(-len(rows) // batches)
    for n in range(batches):
        insert(outbox, rows[n * size : (n + 1) * size])
        time.sleep(spread / batches)


def _complete(sim: Simulator, want: dict[str, dict[str, str]]) -> bool:
    return all(set(wanted) <= {e["piece_number"] for e in booked(sim, shop)} for shop, wanted in want.items())


def faults(sim: Simulator, knobs: dict[str, Any]) -> None:
    """Set the simulator's fault knobs (``POST /_sandbox/faults``)."""
    request = urllib.request.Request(  # noqa: S310 (the simulator on loopback)
        sim.base_url + "/_sandbox/faults", data=json.dumps(knobs).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def latency(name: str, tmp: Path, samples: int, concurrency: int, warm: int = 30) -> dict[str, float]:
    rng = random.Random(7)
    template = shop_template(warm + samples * 3)
    with simulator(1) as sim:
        contender = Contender(name, tmp / "latency" / name, sim, concurrency=concurrency)
        (shop,) = contender.shops
        insert(contender.outbox, rows_of([shop], template[:warm], "warm"))
        contender.start()
        _wait(contender, warm, within=60.0)
        orders = [r for r in rows_of([shop], template[warm:], "live") if r["event_type"] == "order.recorded"]
        inserted: dict[str, float] = {}
        for row in orders[:samples]:
            before = sim.stats()["entries"]
            inserted[row["event_id"]] = time.time()
            insert(contender.outbox, [row])
            deadline = time.monotonic() + 30
            while sim.stats()["entries"] == before and time.monotonic() < deadline:
                time.sleep(0.003)
            time.sleep(rng.uniform(0.05, 0.15))
        stored = {e["piece_number"]: e["created_at"] for e in booked(sim, shop)}
        contender.stop()
    owner = pieces(rows_of([shop], template[:warm], "warm") + orders[:samples])[shop]
    at = {event_id: dt.datetime.fromisoformat(stored[p]).timestamp() for p, event_id in owner.items() if p in stored}
    latencies = sorted((at[e] - t) * 1000 for e, t in inserted.items() if e in at)
    return {"p50": statistics.median(latencies), "p99": latencies[max(0, int(len(latencies) * 0.99) - 1)],
            "samples": len(latencies)}  # fmt: skip
