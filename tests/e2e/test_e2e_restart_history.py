"""What the outbox holds for a shop when it is first seen connected is history, ingested yet or not: held, offered
as a backfill, nothing of it posted until one is started. Two ways in: a first start with company API tokens on an
outbox already full, and an OAuth connect made while the first ingestion of a long outbox is still running."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from e2e_harness import World, WorldFactory, assert_exact, booked_pieces, settle, wait_until
from e2e_killloop import shop_rows

from outboxd.demo.tickets import live_ticket

FILLER = 20_000
"""Rows of a shop never connected, ahead of the connected shop's in the outbox: a long first ingestion."""


def _held(world: World, shop_id: str) -> bool:
    """The daemon logged that the shop's history is held (all of it ingested)."""
    lines = world.daemon.log_path.read_text().splitlines()
    return any('"backfill.history_held"' in line and f'"shop": "{shop_id}"' in line for line in lines)


async def _only_live_posted_then_backfill(world: World, history: list[dict[str, Any]]) -> None:
    """Once the history is held, a live ticket goes through while nothing of the history does; a backfill then
    books the history, and the books are exact."""

    async def held() -> bool:
        return _held(world, "s1")

    await wait_until(held, 60, "s1's history held")
    live = live_ticket("s1", "after", 1, random.Random(3))
    world.layout.insert(live)
    live_ids = {row["event_id"] for row in live}

    async def live_delivered() -> bool:
        states = world.state.states("s1")
        return all(states.get(event_id) == "delivered" for event_id in live_ids)

    await wait_until(live_delivered, 60, "the live ticket delivered")
    company = world.companies["s1"]
    everything, before = world.expected("s1", [*history, *live]), world.expected("s1", history)
    assert set(booked_pieces(world.sandbox, company)) == set(everything.pieces) - set(before.pieces)

    async with world.control() as client:
        await client.backfill_start("s1", f"{dt.date.today().year}-01-01", "detailed")
    await settle(world.state, {"s1": len(history) + len(live)}, 120, world.daemon)
    assert world.state.failed("s1") == []
    assert_exact(world.sandbox, company, everything)


async def test_a_first_start_with_api_tokens_holds_what_the_outbox_already_has(make_world: WorldFactory) -> None:
    world = await make_world(hold_history=True)
    history = world.history("s1", days=4)
    world.layout.insert(history)
    await world.daemon.start_ready()
    await _only_live_posted_then_backfill(world, history)


async def test_an_oauth_connect_during_a_long_first_ingestion_holds_rows_not_ingested_yet(
    make_world: WorldFactory,
) -> None:
    world = await make_world(oauth=("s1", "s2"))
    world.layout.insert(shop_rows("s2", FILLER, seed=9))  # s2 never connects: its rows only wait
    history = world.history("s1", days=4)
    world.layout.insert(history)
    await world.daemon.start_ready()
    await world.connect_oauth("s1")
    ingested = sum(world.state.counts("s1").values())
    assert ingested < len(history), "the connect came after the first ingestion: the case is not exercised"
    await _only_live_posted_then_backfill(world, history)


async def test_rows_written_after_an_oauth_connect_are_live_even_when_the_daemon_dies_right_after_it(
    make_world: WorldFactory,
) -> None:
    """The first connection is recorded by the connect itself, not at the dispatcher's next pass: a daemon killed
    at once must not take the rows written afterwards for history at its next start."""
    world = await make_world(oauth=("s1",))
    await world.daemon.start_ready()
    await world.connect_oauth("s1")
    world.daemon.kill9()
    rows = world.history("s1", days=2)
    world.layout.insert(rows)
    await world.daemon.start_ready()
    await settle(world.state, {"s1": len(rows)}, 60, world.daemon)
    assert_exact(world.sandbox, world.companies["s1"], world.expected("s1", rows))
