"""Events are booked with the reference snapshot of their time: history held when a newer snapshot arrives (here
one that turns the chapters off, moving sales from the chapter accounts to the per-rate ones) is backfilled with
the snapshot in force at its own position in the outbox, across a kill -9 between the two."""

from __future__ import annotations

import datetime as dt
from typing import Any

from e2e_harness import World, WorldFactory, assert_exact, settle, wait_until


def _newer_reference(history: list[dict[str, Any]]) -> dict[str, Any]:
    first = history[0]
    assert first["event_type"] == "reference.updated"
    assert first["payload"]["chapters_enabled"]
    return {
        **first,
        "event_id": f"{first['event_id']}-2",
        "occurred_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "payload": {**first["payload"], "chapters_enabled": False},
    }


def _logged(world: World, event: str) -> bool:
    return any(f'"{event}"' in line for line in world.daemon.log_path.read_text().splitlines())


async def test_held_history_books_with_the_reference_of_its_time_not_a_newer_one(make_world: WorldFactory) -> None:
    world = await make_world(hold_history=True)
    history = world.history("s1", days=3)
    world.layout.insert(history)
    await world.daemon.start_ready()

    async def held() -> bool:
        return _logged(world, "backfill.history_held")

    await wait_until(held, 60, "the history held")
    newer = _newer_reference(history)
    world.layout.insert([newer])

    async def applied() -> bool:
        return world.state.states("s1").get(newer["event_id"]) == "delivered"

    await wait_until(applied, 60, "the newer reference delivered")
    world.daemon.kill9()  # the lane rebuilt from the state database must know the older snapshot too
    await world.daemon.start_ready()
    async with world.control() as client:
        await client.backfill_start("s1", f"{dt.date.today().year}-01-01", "detailed")
    await settle(world.state, {"s1": len(history) + 1}, 120, world.daemon)
    assert world.state.failed("s1") == []
    assert_exact(world.sandbox, world.companies["s1"], world.expected("s1", [*history, newer]))
