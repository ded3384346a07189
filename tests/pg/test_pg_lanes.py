"""Lane ownership across replicas: one owner per shop, an even spread, a killed replica's shops move on, a
handover that waits for the rate window, a heartbeat retried while the leases hold."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest
from pg_helpers import refuse_connections
from store_helpers import FakeClock

from outboxd.exceptions import LeaseLost
from outboxd.store import open_store
from outboxd.store.pg.lanes import FORGET_AFTER, PgLaneOwnership
from outboxd.store.pg.store import PgStore

SHOPS = [f"shop-{i:02d}" for i in range(50)]
Owners = Callable[..., PgLaneOwnership]


@pytest.fixture
async def owners(state_path: str, clock: FakeClock) -> AsyncIterator[Owners]:
    """``owners(name, seconds, **options)``: a replica's PgLaneOwnership on a migrated state database, closed after."""
    made: list[PgLaneOwnership] = []
    async with open_store(state_path, owner="boot", clock=clock) as store:
        assert isinstance(store, PgStore)

        def make(name: str, seconds: float, **options: Any) -> PgLaneOwnership:
            made.append(PgLaneOwnership(store.pg, name, dt.timedelta(seconds=seconds), **options))
            return made[-1]

        yield make
        for one in made:
            await one.close()


async def _beat_all(replicas: list[PgLaneOwnership], rounds: int = 6) -> list[frozenset[str]]:
    """Simultaneous heartbeats: a share dropped in one round is given back in the next and taken in the one after."""
    owned: list[frozenset[str]] = []
    for _ in range(rounds):
        owned = list(await asyncio.gather(*(r.heartbeat(SHOPS) for r in replicas)))
    return owned


async def test_shops_are_spread_evenly_and_owned_once(owners: Owners) -> None:
    replicas = [owners(f"replica-{i}", 3) for i in range(3)]
    owned = await _beat_all(replicas)
    together = [shop for mine in owned for shop in mine]
    assert sorted(together) == SHOPS  # every shop, each exactly once
    assert max(len(mine) for mine in owned) <= math.ceil(50 / 3) + 1
    assert all(replica.owns(next(iter(mine))) for replica, mine in zip(replicas, owned, strict=True))


async def test_a_dead_replicas_shops_move_within_the_lease(owners: Owners) -> None:
    replicas = [owners(f"replica-{i}", 1.5) for i in range(3)]
    await _beat_all(replicas)
    dead, alive = replicas[0], replicas[1:]
    orphaned = dead.owned()
    assert orphaned
    for _ in range(6):  # 1.8 s of heartbeats from the two survivors only
        await asyncio.gather(*(r.heartbeat(SHOPS) for r in alive))
        await asyncio.sleep(0.3)
    owned = await _beat_all(alive, rounds=3)
    assert sorted(s for mine in owned for s in mine) == SHOPS
    assert max(len(mine) for mine in owned) <= 25 + 1
    assert not dead.owned()  # its own view ran out too: it would not claim anymore


async def test_a_joining_replica_gets_its_share_and_leave_gives_back(owners: Owners) -> None:
    first, second = owners("first", 3), owners("second", 3)
    assert len(await first.heartbeat(SHOPS)) == 50
    await second.heartbeat(SHOPS)  # alive now, nothing free yet
    assert len(await first.heartbeat(SHOPS)) == 25  # stops claiming above its share...
    assert await second.heartbeat(SHOPS) == frozenset()  # ...but gives them back only at its next heartbeat
    assert len(await first.heartbeat(SHOPS)) == 25
    assert len(await second.heartbeat(SHOPS)) == 25
    await second.leave()
    assert len(await first.heartbeat(SHOPS)) == 50


async def test_shops_seen_in_events_are_shared_too(owners: Owners, state_path: str) -> None:
    conn = await asyncpg.connect(state_path)
    await conn.execute("INSERT INTO shops (shop_id, created_at) VALUES ('seen-only', '2026-03-14T17:00:00.000000Z')")
    await conn.close()
    assert await owners("only", 3).heartbeat(SHOPS) == frozenset([*SHOPS, "seen-only"])


async def test_a_shop_given_back_is_taken_only_after_the_handover(owners: Owners) -> None:
    """The last requests of the giver leave the token's rate window before the taker's first."""
    handover = dt.timedelta(seconds=0.5)
    first, second = owners("first", 6, handover=handover), owners("second", 6, handover=handover)
    assert len(await first.heartbeat(SHOPS)) == 50
    await second.heartbeat(SHOPS)
    assert await first.heartbeat(SHOPS) == frozenset(SHOPS[:25])  # stops claiming shop-25..49
    await first.heartbeat(SHOPS)  # gives them back
    assert await second.heartbeat(SHOPS) == frozenset()  # released just now: not before the handover
    await asyncio.sleep(0.6)
    got = await second.heartbeat(SHOPS)
    assert got == frozenset(SHOPS[25:])
    assert not got & await first.heartbeat(SHOPS)


async def test_a_busy_shop_leaves_only_when_its_deliveries_are_done(owners: Owners) -> None:
    in_flight = {"shop-49"}
    first = owners("first", 6, busy=lambda shop: shop in in_flight)
    second = owners("second", 6)
    await first.heartbeat(SHOPS)
    await second.heartbeat(SHOPS)
    assert "shop-49" not in await first.heartbeat(SHOPS)  # no new claims for it here...
    await first.heartbeat(SHOPS)  # the others are given back now, shop-49 is still busy
    assert "shop-49" not in await second.heartbeat(SHOPS)  # ...and its lease still held: not taken either
    assert len(await second.heartbeat(SHOPS)) == 24
    in_flight.clear()
    await first.heartbeat(SHOPS)  # done: released now
    assert "shop-49" in await second.heartbeat(SHOPS)


async def test_renew_retries_while_the_database_is_out_of_reach(owners: Owners, state_path: str) -> None:
    replica = owners("replica", 3)
    assert len(await replica.renew(SHOPS)) == 50
    await refuse_connections(state_path, True, application="outboxd-lanes")
    back = asyncio.get_running_loop().call_later(0.5, lambda: asyncio.ensure_future(
        refuse_connections(state_path, False)))  # fmt: skip
    try:
        assert len(await replica.renew(SHOPS, first_wait=0.05)) == 50  # the same leases, renewed after retries
    finally:
        back.cancel()
        await refuse_connections(state_path, False)


async def test_renew_gives_up_when_the_leases_would_run_out(owners: Owners, state_path: str) -> None:
    replica = owners("replica", 1.5)
    assert len(await replica.renew(SHOPS)) == 50
    await refuse_connections(state_path, True, application="outboxd-lanes")
    try:
        with pytest.raises(LeaseLost, match="not renewed in time"):
            await replica.renew(SHOPS, first_wait=0.05)
        assert replica.owned() == frozenset()  # stops claiming at once
    finally:
        await refuse_connections(state_path, False)


async def test_rows_of_long_dead_replicas_are_forgotten(owners: Owners, state_path: str) -> None:
    """A replica dead for FORGET_AFTER leases loses its row at the next heartbeat; the live ones and one just dead
    keep theirs, and the live count (hence each replica's share) is unchanged."""
    first, second = owners("first", 3), owners("second", 3)
    conn = await asyncpg.connect(state_path)
    try:
        await conn.execute(
            "INSERT INTO replicas (owner, seen_until) VALUES ('long-dead', now() - $1::interval), "
            "('just-dead', now() - interval '1 second')",
            dt.timedelta(seconds=3 * FORGET_AFTER + 1),
        )
        assert len(await first.heartbeat(SHOPS)) == 50
        await second.heartbeat(SHOPS)
        assert len(await first.heartbeat(SHOPS)) == 25  # two live replicas share the shops
        owners_left = {r[0] for r in await conn.fetch("SELECT owner FROM replicas")}
    finally:
        await conn.close()
    assert owners_left == {"first", "second", "just-dead"}
