"""What differs on PostgreSQL: concurrent claimers (SKIP LOCKED) and ingestion racing a settle on one aggregate."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable
from typing import Any

import asyncpg
import pytest
from pg_helpers import INSERT, event
from store_helpers import FakeClock

from outboxd.exceptions import StoreError
from outboxd.outbox import PgOutboxSource
from outboxd.store import Store, open_store
from outboxd.store.pg import db as pg_db


async def _write(url: str, events: Iterable[tuple[Any, ...]]) -> None:
    """Kash.Click's side: each event in an INSERT of its own."""
    writer = await asyncpg.connect(url)
    try:
        for one in events:
            await writer.fetchval(INSERT, *one)
    finally:
        await writer.close()


async def _ingest_all(store: Store, source: PgOutboxSource) -> None:
    """The whole outbox into the state database, 50 rows a batch."""
    while await store.deliveries.ingest_from(source, batch=50):
        pass  # the loop's test is the work: a batch ingested per round, 0 once the outbox is drained


def _backlog() -> list[tuple[Any, ...]]:
    """200 events spread over four shops."""
    return [event(n, shop=f"shop-{n % 4}") for n in range(200)]


async def test_concurrent_claimers_never_take_the_same_row(outbox_url: str, clock: FakeClock) -> None:
    await _write(outbox_url, _backlog())
    async with PgOutboxSource(outbox_url) as source, open_store(outbox_url, owner="a", clock=clock) as a:
        await _ingest_all(a, source)
        ids: list[int] = []
        async with open_store(outbox_url, owner="b", clock=clock) as b:
            for _ in range(20):  # rounds of eight simultaneous claims, until the backlog is gone
                claims = await asyncio.gather(*(s.deliveries.claim(30) for s in (a, b, a, b, a, b, a, b)))
                ids += [d.id for batch in claims for d in batch]
    assert len(ids) == len(set(ids))  # SKIP LOCKED: a row locked by one claim is skipped by the others
    assert len(ids) == 200


async def test_ingestion_racing_a_settle_leaves_the_aggregate_a_head(outbox_url: str, clock: FakeClock) -> None:
    """Each round: the head of one order is delivered while its next event is ingested; the next must be claimable."""
    writer = await asyncpg.connect(outbox_url)
    async with PgOutboxSource(outbox_url) as source, open_store(outbox_url, owner="a", clock=clock) as store:
        await writer.fetchval(INSERT, *event(0, aggregate="order:1"))
        await store.deliveries.ingest_from(source)
        for n in range(1, 30):
            (head,) = await store.deliveries.claim(5)
            await writer.fetchval(INSERT, *event(n, aggregate="order:1"))
            await asyncio.gather(store.deliveries.mark_delivered(head.id), store.deliveries.ingest_from(source))
            claimed = await store.deliveries.claim(5)
            assert [d.event_id for d in claimed] == [f"ev-{n}"]
            await store.deliveries.release()
    await writer.close()


async def test_concurrent_dispatcher_claims_never_take_the_same_row(outbox_url: str, clock: FakeClock) -> None:
    """``claim_heads`` (the dispatcher's claim) from two replicas at once, every shop asked for by both."""
    await _write(outbox_url, _backlog())
    async with PgOutboxSource(outbox_url) as source, open_store(outbox_url, owner="a", clock=clock) as a:
        await _ingest_all(a, source)
        ids: list[int] = []
        free = {f"shop-{n}": 4 for n in range(4)}
        async with open_store(outbox_url, owner="b", clock=clock) as b:
            for _ in range(20):
                claims = await asyncio.gather(*(s.deliveries.claim_heads(free) for s in (a, b, a, b, a, b)))
                ids += [d.id for batch in claims for d in batch]
    assert len(ids) == len(set(ids))
    assert len(ids) == 200


async def test_a_replica_never_takes_back_its_own_slow_delivery(outbox_url: str, clock: FakeClock) -> None:
    """A lease of this very process that ran out is a delivery still in flight here: claiming it again would run it
    twice (seen as a duplicate entry in the replicas' OAuth test, with 3 s leases). Another replica takes it back."""
    await _write(outbox_url, [event(1)])
    lease = dt.timedelta(seconds=60)
    async with (
        PgOutboxSource(outbox_url) as source,
        open_store(outbox_url, owner="host:1", clock=clock, lease=lease) as slow,
        open_store(outbox_url, owner="host:2", clock=clock, lease=lease) as other,
    ):
        await slow.deliveries.ingest_from(source)
        assert len(await slow.deliveries.claim_heads({"shop-1": 4})) == 1
        clock.advance(61)
        assert await slow.deliveries.claim_heads({"shop-1": 4}) == []
        assert await slow.deliveries.claim(4, shops=["shop-1"]) == []
        assert [d.lease_owner for d in await other.deliveries.claim_heads({"shop-1": 4})] == ["host:2"]


async def test_a_transaction_left_open_by_a_frozen_process_is_ended_and_its_locks_freed(
    outbox_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica frozen in the middle of a transaction (a paused VM, SIGSTOP) held its row locks until its TCP
    connection died, and every replica's claims for those shops waited behind it: PostgreSQL now ends such a session
    (``idle_in_transaction_session_timeout``), here after 0.3 s instead of the daemon's 10 s."""
    monkeypatch.setattr(pg_db, "IDLE_IN_TRANSACTION", 300)
    await _write(outbox_url, [event(1)])
    async with PgOutboxSource(outbox_url) as source, open_store(outbox_url, owner="a", clock=clock) as frozen:
        await _ingest_all(frozen, source)
        other = await asyncpg.connect(outbox_url)

        async def freeze_then_wake() -> None:
            async with frozen.db.transaction() as tx:
                await tx.execute("UPDATE deliveries SET attempts = attempts + 1")
                # the frozen process: its locks are held while it does nothing; the other one waits for them
                await asyncio.wait_for(other.execute("UPDATE deliveries SET attempts = 7"), 5)
                await tx.execute("UPDATE deliveries SET attempts = attempts + 1")  # woken: its session is gone

        try:
            with pytest.raises(StoreError):
                await freeze_then_wake()
        finally:
            await other.close()
        assert [row[0] for row in await frozen.db.read("SELECT attempts FROM deliveries")] == [7]
