"""A backfill beside live traffic, under a (scaled) rate limit: live events are booked while it still runs, nothing
is posted twice; a daily backfill stopped mid-way resumes after a restart."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from backfill_world import Running, World, expected_balance, settled
from books import folded, net
from bridge_setup import wait_until
from test_backfill_detailed import START, _only_reference_delivered, connect_with_history, history

from outboxd.shop_simulator import simulate_shop

pytestmark = pytest.mark.timeout(60)


def live_rows() -> list[dict[str, Any]]:
    """Today's tickets and payments of the same shop, with their own order, payment and ticket numbers."""
    rows = simulate_shop("s1", days=1, orders_per_day=3, registers=2, seed=99, start=dt.date.today())
    text = json.dumps([r for r in rows if r["event_type"] in ("order.recorded", "payment.recorded")])
    for old, new in (('"o-', '"live-o-'), (":o-", ":live-o-"), ('"p-', '"live-p-'), ('"T-', '"LT-'), ('"A-', '"LA-')):
        text = text.replace(old, new)
    live: list[dict[str, Any]] = json.loads(text)
    return live


@pytest.mark.parametrize(("mode", "days", "orders"), [("detailed", 2, 10), ("daily", 8, 12)])
async def test_live_events_are_booked_while_a_backfill_runs(world: World, mode: str, days: int, orders: int) -> None:
    rows = history(days=days, orders=orders)
    await connect_with_history(world, rows)
    world.limit(10, 0.5)  # 20 requests per second: the backfill lasts a few seconds
    live = live_rows()
    async with Running(world.config()) as daemon:
        await wait_until(lambda: _only_reference_delivered(daemon))
        await daemon.backfills.start("s1", "ops", START.isoformat(), mode)
        world.write(live)
        ids = [r["event_id"] for r in live]

        async def live_delivered() -> bool:
            marks = ", ".join("?" * len(ids))
            row = await daemon.store.db.read_one(
                f"SELECT count(*) FROM deliveries WHERE state = 'delivered' AND event_id IN ({marks})",  # noqa: S608 (placeholders)
                ids,
            )
            return row is not None and row[0] == len(ids)

        await wait_until(live_delivered)
        backfill = await daemon.backfills.get("s1")
        assert backfill is not None
        assert backfill["state"] == "running"
        assert backfill["done"] < backfill["total"]
        await wait_until(lambda: settled(daemon), 50)
        assert (await daemon.store.queue.stats("s1"))[0].failed == 0
        assert max(world.pieces().values()) == 1
        got, want = folded(world.sandbox.trial_balance(world.company)), expected_balance(rows + live, daemon, "s1")
        assert net(got) == net(want)  # daily: a ticket paid within its day books no customer line
        assert mode == "daily" or got == want
    assert sum(world.sandbox.throttled_count.values()) == 0


async def test_a_daily_backfill_stopped_mid_way_resumes_and_posts_nothing_twice(world: World) -> None:
    rows = history(days=10, orders=10)
    await connect_with_history(world, rows)
    world.limit(10, 0.5)
    async with Running(world.config()) as daemon:
        await daemon.backfills.start("s1", "ops", START.isoformat(), "daily")
        await wait_until(lambda: _day_pieces(world, 3))
    async with Running(world.config()) as daemon:
        current = await daemon.backfills.get("s1")
        assert current is not None
        assert 0 < current["done"] < current["total"]
        await wait_until(lambda: settled(daemon), 50)
        pieces = world.pieces()
        assert max(pieces.values()) == 1
        days = {(r["payload"]["business_date"], r["payload"]["register_id"]) for r in rows[1:]}
        assert sorted(pieces) == sorted(f"J-{d}-{r}" for d, r in days)
        assert net(folded(world.sandbox.trial_balance(world.company))) == net(expected_balance(rows, daemon, "s1"))


async def _day_pieces(world: World, n: int) -> bool:
    return sum(1 for piece in world.pieces() if piece.startswith("J-")) >= n
