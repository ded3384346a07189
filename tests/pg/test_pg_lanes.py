"""Lane ownership across replicas: one owner per shop, an even spread, a killed replica's shops move on."""

from __future__ import annotations

import asyncio
import datetime as dt
import math

from store_helpers import FakeClock

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
        assert len(await first.heartbeat(SHOPS)) == 25  # gives back above its share
        assert len(await second.heartbeat(SHOPS)) == 25
        await second.leave()
        assert len(await first.heartbeat(SHOPS)) == 50
