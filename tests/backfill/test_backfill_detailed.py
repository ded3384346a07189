"""History is held until a backfill starts; a detailed backfill sends it once, resumes after a restart, skips
what is before its start date, refuses a closed fiscal year."""

from __future__ import annotations

import datetime as dt

import pytest
from backfill_world import Running, World, expected_balance, settled
from books import folded
from bridge_setup import dispatch_pass, wait_until

from outboxd.exceptions import BadRequest
from outboxd.shop_simulator import simulate_shop

pytestmark = pytest.mark.timeout(60)

START = dt.date.today() - dt.timedelta(days=12)


def history(days: int = 10, orders: int = 8) -> list[dict]:
    return list(simulate_shop("s1", days=days, orders_per_day=orders, registers=2, seed=3, start=START))


async def connect_with_history(world: World, rows: list[dict]) -> None:
    """Events written while the shop had no connection: ingested, waiting."""
    world.connected = False
    world.write(rows)
    async with Running(world.config()) as daemon:
        await wait_until(lambda: _ingested(daemon, len(rows)))
    world.connected = True


async def _ingested(daemon, n: int) -> bool:  # type: ignore[no-untyped-def]
    stats = await daemon.store.queue.stats("s1")
    return bool(stats) and stats[0].pending == n


async def test_history_is_held_then_a_detailed_backfill_sends_it_once(world: World) -> None:
    rows = history()
    await connect_with_history(world, rows)
    async with Running(world.config()) as daemon:
        await wait_until(lambda: _only_reference_delivered(daemon))
        await dispatch_pass(daemon, "s1")
        assert not daemon.lanes["s1"].in_flight  # the pass claimed none of the history
        assert await _only_reference_delivered(daemon)
        assert world.pieces() == {}  # nothing booked before the operator chose
        estimate = await daemon.backfills.estimate("s1", None)
        assert estimate["default_start_date"] == str(dt.date.today() - dt.timedelta(days=365))
        assert estimate["events"] == len(rows) - 1
        assert estimate["refused"] is None
        customers = {r["payload"]["customer"]["id"] for r in rows if (r["payload"].get("customer") or {}).get("id")}
        assert estimate["new_customers"] == len(customers)
        before = world.requests()
        backfill = await daemon.backfills.start("s1", "ops", START.isoformat(), "detailed")
        assert backfill["total"] == len(rows) - 1
        assert backfill["state"] == "running"
        await wait_until(lambda: settled(daemon), 40)
        made = world.requests() - before
        assert abs(estimate["modes"]["detailed"]["requests"] - made) <= made / 20, (estimate, made)
        stats = (await daemon.store.queue.stats("s1"))[0]
        assert stats.failed == 0
        assert stats.delivered == len(rows)
        pieces = world.pieces()
        assert max(pieces.values()) == 1
        assert len(pieces) == len(rows) - 1 + _gaps(rows)  # one entry per event, plus cash differences
        assert folded(world.sandbox.trial_balance(world.company)) == expected_balance(rows, daemon, "s1")
        done = await daemon.backfills.get("s1")
        assert done is not None
        assert done["done"] == done["total"]
        assert done["finished_at"]
        # running it again from the same date: nothing left to send, nothing posted twice
        again = await daemon.backfills.start("s1", "ops", START.isoformat(), "detailed")
        assert again["total"] == 0
        await wait_until(lambda: settled(daemon))
    assert world.pieces() == pieces


def _gaps(rows: list[dict]) -> int:
    """Cash-difference entries: one per receipt whose counted differs from expected."""
    return sum(
        1 for r in rows if r["event_type"] == "register.closed"
        for x in r["payload"]["receipts"] if x["counted"] != x["expected"]
    )  # fmt: skip


async def _only_reference_delivered(daemon) -> bool:  # type: ignore[no-untyped-def]
    stats = (await daemon.store.queue.stats("s1"))[0]
    return stats.delivered == 1


async def test_before_the_start_date_is_skipped_and_an_earlier_backfill_takes_it_back(world: World) -> None:
    rows = history(days=6, orders=4)
    await connect_with_history(world, rows)
    cut = START + dt.timedelta(days=3)
    async with Running(world.config()) as daemon:
        await daemon.backfills.start("s1", "ops", cut.isoformat(), "detailed")
        await wait_until(lambda: settled(daemon))
        stats = (await daemon.store.queue.stats("s1"))[0]
        before = [r for r in rows if r["payload"].get("business_date", "9999") < cut.isoformat()]
        assert stats.skipped == len(before)
        assert stats.pending == 0
        skipped = await daemon.store.db.read("SELECT last_error FROM deliveries WHERE state = 'skipped'")
        assert all(cut.isoformat() in r[0] for r in skipped)
        # a later backfill from an earlier date takes the skipped history back
        await daemon.backfills.start("s1", "ops", START.isoformat(), "detailed")
        await wait_until(lambda: settled(daemon))
        stats = (await daemon.store.queue.stats("s1"))[0]
        assert stats.skipped == 0
        assert stats.delivered == len(rows), await daemon.store.queue.failed()
        assert max(world.pieces().values()) == 1
        assert folded(world.sandbox.trial_balance(world.company)) == expected_balance(rows, daemon, "s1")


async def test_a_restart_mid_backfill_resumes_and_posts_nothing_twice(world: World) -> None:
    rows = history(days=10, orders=10)
    await connect_with_history(world, rows)
    async with Running(world.config()) as daemon:
        await daemon.backfills.start("s1", "ops", START.isoformat(), "detailed")
        await wait_until(lambda: _some_delivered(daemon, 20))
    async with Running(world.config()) as daemon:
        current = await daemon.backfills.get("s1")
        assert current is not None
        assert 0 < current["done"] < current["total"]
        await wait_until(lambda: settled(daemon), 40)
        assert max(world.pieces().values()) == 1
        assert folded(world.sandbox.trial_balance(world.company)) == expected_balance(rows, daemon, "s1")


async def _drained(lane) -> bool:  # type: ignore[no-untyped-def]
    return not lane.in_flight


async def _some_delivered(daemon, n: int) -> bool:  # type: ignore[no-untyped-def]
    return (await daemon.store.queue.stats("s1"))[0].delivered >= n


async def test_pause_stops_the_backfill_and_cancel_holds_the_rest_again(world: World) -> None:
    rows = history(days=4, orders=4)
    await connect_with_history(world, rows)
    async with Running(world.config()) as daemon:
        await daemon.backfills.start("s1", "ops", START.isoformat(), "detailed")
        paused = await daemon.backfills.pause("s1", "ops")
        assert paused["state"] == "paused"
        lane = daemon.lanes["s1"]
        await wait_until(lambda: _drained(lane), 10, "the deliveries in flight at the pause finished")
        count = len(world.pieces())
        await dispatch_pass(daemon, "s1")
        assert not lane.in_flight  # the pass claimed nothing of the paused backfill
        assert len(world.pieces()) == count
        cancelled = await daemon.backfills.cancel("s1", "ops")
        assert cancelled["state"] == "cancelled"
        held = await daemon.store.db.read_one(
            "SELECT count(*) FROM deliveries WHERE priority = 2 AND state = 'pending'"
        )
        assert held is not None
        assert held[0] > 0


@pytest.mark.parametrize("status", ["closed", "frozen"])
async def test_a_closed_or_frozen_fiscal_year_is_refused(world: World, status: str) -> None:
    await connect_with_history(world, history(days=1, orders=1))
    world.sandbox.company(world.company).fiscal_years[0].status = status
    old = dt.date.today() - dt.timedelta(days=400)
    async with Running(world.config()) as daemon:
        estimate = await daemon.backfills.estimate("s1", old.isoformat())
        assert f"is {status} in Pennylane" in estimate["refused"]
        with pytest.raises(BadRequest, match=f"{status}.*choose a start date after"):
            await daemon.backfills.start("s1", "ops", old.isoformat(), "detailed")
        assert await daemon.backfills.get("s1") is None
