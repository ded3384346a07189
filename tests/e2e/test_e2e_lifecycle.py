"""Lifecycle of ``outboxd run`` (a real process): SIGTERM drains, the systemd notify protocol on a real datagram
socket, the Prometheus page, and how fast a new outbox row reaches Pennylane."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import time

import pytest
from e2e_harness import SHOPS, WorldFactory, assert_exact, booked_pieces, scrape, settle, total, wait_until

from outboxd.demo.tickets import live_ticket

pytestmark = pytest.mark.timeout(90)


@pytest.mark.parametrize(
    ("latency_ms", "grace", "released"),
    [(300, 8.0, False), (4000, 1.0, True)],
    ids=["in_flight_finish", "in_flight_released"],
)
async def test_sigterm_during_traffic_drains_within_the_grace_and_loses_nothing(
    make_world: WorldFactory, latency_ms: int, grace: float, released: bool
) -> None:
    world = await make_world(shutdown_grace=grace, request_timeout=10.0)
    rows = {shop: world.history(shop, days=4, seed=n) for n, shop in enumerate(SHOPS)}
    for shop_rows in rows.values():
        world.layout.insert(shop_rows)
    await world.daemon.start_ready()
    await settle(world.state, {"s1": 10}, 30, world.daemon)
    slowed_from = dt.datetime.now(dt.UTC)
    world.sandbox.faults.update(latency_ms=latency_ms)  # requests in flight when the signal comes

    async def in_flight() -> bool:  # a delivery claimed after the fault: its request carries the latency
        return world.state.leased_since(slowed_from) > 0

    await wait_until(in_flight, 10)
    before = sum(world.state.counts(shop)["delivered"] for shop in SHOPS)
    assert before < sum(map(len, rows.values())), "traffic must still be flowing at SIGTERM"
    began = time.monotonic()
    code = await world.daemon.terminate(grace + 3.0)
    elapsed = time.monotonic() - began
    print(f"SIGTERM -> exit {code} in {elapsed:.2f} s (grace {grace} s)")
    assert code == 0
    assert elapsed < (grace + 1.5 if released else 5.0), "drained as soon as the in-flight deliveries were done"
    assert "STOPPING=1" in world.daemon.notify.lines()
    assert all(world.state.counts(shop)["leased"] == 0 for shop in SHOPS), "in-flight: finished or released"
    log = world.daemon.log_path.read_text()
    assert '"daemon.stopped"' in log
    assert ('"released": 0' not in log) is released

    world.sandbox.faults.update(latency_ms=0)
    await world.daemon.start_ready()
    await settle(world.state, {shop: len(r) for shop, r in rows.items()}, 30, world.daemon)
    for shop, shop_rows in rows.items():
        assert world.state.failed(shop) == []
        assert_exact(world.sandbox, world.companies[shop], world.expected(shop, shop_rows))


async def test_systemd_notify_ready_status_watchdog_and_stopping(make_world: WorldFactory) -> None:
    world = await make_world(env={"WATCHDOG_USEC": "400000"})  # pings due every 0.2 s
    world.layout.insert(world.history("s1", days=1))
    await world.daemon.start_ready()
    notify = world.daemon.notify
    ready = [text for text in notify.drain() if "READY=1" in text]
    assert len(ready) == 1
    assert "STATUS=" in ready[0]

    def pings() -> int:
        return notify.lines().count("WATCHDOG=1")

    async def pinging() -> bool:
        return pings() >= 5

    async def status_with_queue() -> bool:
        return any(line.startswith("STATUS=") and "queue" in line and "lag" in line for line in notify.lines())

    await wait_until(pinging, 10)
    await wait_until(status_with_queue, 10)
    stamps = [at for at, text in notify.messages if text == "WATCHDOG=1"]
    assert max(b - a for a, b in itertools.pairwise(stamps)) < 0.6  # systemd's deadline 0.4 s, seen at 50 ms polls
    assert await world.daemon.terminate(10) == 0
    lines = notify.lines()
    assert "STOPPING=1" in lines
    assert lines.index("READY=1") < lines.index("STOPPING=1")


async def test_metrics_page_and_a_new_row_noticed_fast(make_world: WorldFactory) -> None:
    world = await make_world()
    rows = world.history("s1", days=1)
    world.layout.insert(rows)
    await world.daemon.start_ready()
    await settle(world.state, {"s1": len(rows)}, 30, world.daemon)
    metrics = await scrape(world.layout.metrics_url)
    assert total(metrics, "outboxd_deliveries_total", shop="s1", result="delivered") == len(rows)
    posted = total(metrics, "outboxd_entries_posted_total", shop="s1")
    assert posted > 0
    assert total(metrics, "outboxd_http_responses_total", shop="s1", status="201") >= posted
    assert total(metrics, "outboxd_http_responses_total", shop="s1", status="200") > 0  # lookups of ids
    assert metrics['outboxd_queue_depth{shop="s1"}'] == 0
    assert metrics['outboxd_delivery_latency_seconds_bucket{le="+Inf"}'] == len(rows)
    assert metrics["outboxd_delivery_latency_seconds_count"] == len(rows)

    rng = random.Random(1)
    figures = []
    for n in range(5):  # an idle daemon; one order at a time, as the till writes it
        order = live_ticket("s1", "e2e", n, rng)[0]
        count = len(booked_pieces(world.sandbox, world.companies["s1"]))
        began = time.monotonic()
        world.layout.insert([order])

        async def booked(count: int = count) -> bool:
            return len(booked_pieces(world.sandbox, world.companies["s1"])) > count

        await wait_until(booked, 10)
        figures.append(time.monotonic() - began)
    print(f"insert -> entry in Pennylane: {', '.join(f'{1000 * f:.0f} ms' for f in figures)}")
    assert max(figures) < 2.0
