"""Lane ownership across replicas: one owner per shop, an even spread, a killed replica's shops move on."""

from __future__ import annotations

import asyncio
import datetime as dt
import math

import pytest
from store_helpers import FakeClock

from outboxd.exceptions import LeaseLost, StoreError
from outboxd.store import open_store
from outboxd.store.pg.lanes import LaneOwnership
from outboxd.store.pg.store import PgStore

SHOPS = [f"shop-{i:02d}" for i in range(50)]


async def _beat_all(replicas: list[LaneOwnership], rounds: int = 6) -> list[frozenset[str]]:
    """Simultaneous heartbeats: a share given back in one round is taken by the others in the next."""
    owned: list[frozenset[str]] = []
    for _ in range(rounds):
        owned = list(await asyncio.gather(*(r.heartbeat(SHOPS) for r in replicas)))
    return owned


async def test_shops_are_spread_evenly_and_owned_once(state_path: str, clock: FakeClock) -> None:
    async with open_store(state_path, owner="boot", clock=clock) as store:
        assert isinstance(store, PgStore)
        lease = dt.timedelta(seconds=3)
        replicas = [LaneOwnership(store.pg, f"replica-{i}", lease) for i in range(3)]
        owned = await _beat_all(replicas)
        together = [shop for mine in owned for shop in mine]
        assert sorted(together) == SHOPS  # every shop, each exactly once
        assert max(len(mine) for mine in owned) <= math.ceil(50 / 3) + 1
        assert all(replica.owns(next(iter(mine))) for replica, mine in zip(replicas, owned, strict=True))


async def test_a_dead_replicas_shops_move_within_the_lease(state_path: str, clock: FakeClock) -> None:
    async with open_store(state_path, owner="boot", clock=clock) as store:
        assert isinstance(store, PgStore)
        lease = dt.timedelta(seconds=1.5)
        replicas = [LaneOwnership(store.pg, f"replica-{i}", lease) for i in range(3)]
        await _beat_all(replicas)
        dead, alive = replicas[0], replicas[1:]
        orphaned = dead.owned()
        assert orphaned
        for _ in range(6):  # 1.5 s of heartbeats from the two survivors only
            owned = await asyncio.gather(*(r.heartbeat(SHOPS) for r in alive))
            await asyncio.sleep(0.3)
        owned = await _beat_all(alive, rounds=3)
        assert sorted(s for mine in owned for s in mine) == SHOPS
        assert max(len(mine) for mine in owned) <= 25 + 1
        assert not dead.owned()  # its own view ran out too: it would not claim anymore


async def test_a_joining_replica_gets_its_share_and_leave_gives_back(state_path: str, clock: FakeClock) -> None:
    async with open_store(state_path, owner="boot", clock=clock) as store:
        assert isinstance(store, PgStore)
        lease = dt.timedelta(seconds=3)
        first = LaneOwnership(store.pg, "first", lease)
        assert len(await first.heartbeat(SHOPS)) == 50
        second = LaneOwnership(store.pg, "second", lease)
        await second.heartbeat(SHOPS)  # alive now, nothing free yet
        assert len(await first.heartbeat(SHOPS)) == 25  # stops claiming above its share...
        assert await second.heartbeat(SHOPS) == frozenset()  # ...but gives them back only at its next heartbeat
        assert len(await first.heartbeat(SHOPS)) == 25
        assert len(await second.heartbeat(SHOPS)) == 25
        await second.leave()
        assert len(await first.heartbeat(SHOPS)) == 50


async def test_a_shop_given_back_is_taken_only_after_the_handover(state_path: str, clock: FakeClock) -> None:
    """The last requests of the giver leave the token's rate window before the taker's first."""
    async with open_store(state_path, owner="boot", clock=clock) as store:
        assert isinstance(store, PgStore)
        lease, handover = dt.timedelta(seconds=6), dt.timedelta(seconds=0.5)
        first = LaneOwnership(store.pg, "first", lease, handover=handover)
        assert len(await first.heartbeat(SHOPS)) == 50
        second = LaneOwnership(store.pg, "second", lease, handover=handover)
        await second.heartbeat(SHOPS)
        assert await first.heartbeat(SHOPS) == frozenset(SHOPS[:25])  # stops claiming shop-25..49
        await first.heartbeat(SHOPS)  # gives them back
        assert await second.heartbeat(SHOPS) == frozenset()  # released just now: not before the handover
        await asyncio.sleep(0.6)
        got = await second.heartbeat(SHOPS)
        assert got == frozenset(SHOPS[25:])
        assert not got & await first.heartbeat(SHOPS)


async def test_a_busy_shop_leaves_only_when_its_deliveries_are_done(state_path: str, clock: FakeClock) -> None:
    async with open_store(state_path, owner="boot", clock=clock) as store:
        assert isinstance(store, PgStore)
        lease = dt.timedelta(seconds=6)
        in_flight = {"shop-49"}
        first = LaneOwnership(store.pg, "first", lease, busy=lambda shop: shop in in_flight)
        await first.heartbeat(SHOPS)
        second = LaneOwnership(store.pg, "second", lease)
        await second.heartbeat(SHOPS)
        mine = await first.heartbeat(SHOPS)
        assert "shop-49" not in mine  # no new claims for it here...
        await first.heartbeat(SHOPS)  # the others are given back now, shop-49 is still busy
        assert "shop-49" not in await second.heartbeat(SHOPS)  # ...and its lease still held: not taken either
        assert len(await second.heartbeat(SHOPS)) == 24
        in_flight.clear()
        await first.heartbeat(SHOPS)  # done: released now
        assert "shop-49" in await second.heartbeat(SHOPS)


async def test_renew_retries_a_failed_heartbeat(state_path: str, clock: FakeClock) -> None:
    async with open_store(state_path, owner="boot", clock=clock) as store:
        assert isinstance(store, PgStore)
        replica = LaneOwnership(store.pg, "replica", dt.timedelta(seconds=3))
        failures = [StoreError("state database: connection refused")] * 2

        async def known() -> list[str]:
            if failures:
                raise failures.pop()
            return SHOPS

        assert len(await replica.renew(known, first_wait=0.01)) == 50
        assert not failures


async def test_renew_gives_up_when_the_leases_can_no_longer_be_trusted(state_path: str, clock: FakeClock) -> None:
    async with open_store(state_path, owner="boot", clock=clock) as store:
        assert isinstance(store, PgStore)
        replica = LaneOwnership(store.pg, "replica", dt.timedelta(seconds=1.5))
        assert len(await replica.renew(store.shops.ids, SHOPS)) == 50
        store.pg.pool.terminate()  # the database is out of reach from now on
        with pytest.raises(LeaseLost, match="not renewed in time"):
            await replica.renew(store.shops.ids, SHOPS, first_wait=0.05)
        assert replica.owned() == frozenset()  # stops claiming at once
