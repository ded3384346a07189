"""The PostgreSQL outbox source: no row skipped when transactions commit out of id order; LISTEN wake-up."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest
from pg_helpers import INSERT, event

from outboxd.exceptions import StoreError
from outboxd.outbox import PgOutboxSource
from outboxd.store.deliveries import INGEST_BATCH_BYTES


async def test_a_late_commit_is_never_skipped(outbox_url: str) -> None:
    first = await asyncpg.connect(outbox_url)
    second = await asyncpg.connect(outbox_url)
    async with PgOutboxSource(outbox_url) as source:
        tx1 = first.transaction()
        await tx1.start()
        low = await first.fetchval(INSERT, *event(1))
        high = await second.fetchval(INSERT, *event(2))  # autocommit: id N+1 committed while N is still open
        assert high == low + 1
        assert await source.changed()
        assert await source.fetch_after(0, 100, INGEST_BATCH_BYTES) == []  # N+1 visible, N may still commit: wait
        assert await source.fetch_after(0, 100, INGEST_BATCH_BYTES) == []
        await tx1.commit()
        rows = await source.fetch_after(0, 100, INGEST_BATCH_BYTES)
        assert [row.id for row in rows] == [low, high]
    await first.close()
    await second.close()


async def test_a_rolled_back_id_does_not_block_the_cursor(outbox_url: str) -> None:
    writer = await asyncpg.connect(outbox_url)
    async with PgOutboxSource(outbox_url) as source:
        tx = writer.transaction()
        await tx.start()
        await writer.fetchval(INSERT, *event(1))
        later = await asyncpg.connect(outbox_url)
        kept = await later.fetchval(INSERT, *event(2))
        assert await source.fetch_after(0, 10, INGEST_BATCH_BYTES) == []
        await tx.rollback()
        assert [row.id for row in await source.fetch_after(0, 10, INGEST_BATCH_BYTES)] == [kept]
        await later.close()
    await writer.close()


async def test_rows_keep_the_contract_forms(outbox_url: str) -> None:
    writer = await asyncpg.connect(outbox_url)
    await writer.fetchval(INSERT, *event(7, shop="shop-9"))
    async with PgOutboxSource(outbox_url) as source:
        (row,) = await source.fetch_after(0, 10, INGEST_BATCH_BYTES)
        assert (row.event_id, row.shop_id, row.event_type, row.aggregate_id) == (
            "ev-7", "shop-9", "order.recorded", "order:7",
        )  # fmt: skip
        assert row.occurred_at == "2026-03-14T17:02:11.000000Z"
        assert json.loads(row.payload) == {"order_id": "order:7", "business_date": "2026-03-14"}
        assert await source.last_id() == row.id
        assert await source.fetch_after(row.id, 10, INGEST_BATCH_BYTES) == []
    await writer.close()


async def test_notify_wakes_the_tail_and_the_safety_poll_fires(outbox_url: str) -> None:
    writer = await asyncpg.connect(outbox_url)
    async with PgOutboxSource(outbox_url, safety_poll=0.3) as source:
        assert await source.changed()  # the first call always
        await source.fetch_after(0, 10, INGEST_BATCH_BYTES)
        assert not await source.changed()
        await writer.fetchval(INSERT, *event(1))
        for _ in range(100):
            if await source.changed():
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("no notification within 1 s")
        assert len(await source.fetch_after(0, 10, INGEST_BATCH_BYTES)) == 1
        assert not await source.changed()
        await asyncio.sleep(0.35)
        assert await source.changed()  # nothing new, but the safety poll says look
    await writer.close()


async def test_many_concurrent_writers_lose_nothing(outbox_url: str) -> None:
    """Ten writers, each holding its transaction open a random while; the reader tails meanwhile."""
    writers = [await asyncpg.connect(outbox_url) for _ in range(10)]
    seen: list[int] = []

    async def write(conn: asyncpg.Connection, base: int) -> None:
        for k in range(20):
            async with conn.transaction():
                await conn.fetchval(INSERT, *event(base + k))
                await asyncio.sleep((base + k) % 7 / 1000)

    async with PgOutboxSource(outbox_url) as source:
        writing = asyncio.gather(*(write(conn, 1000 * i) for i, conn in enumerate(writers)))
        cursor, idle = 0, 0
        while idle < 200:  # stop 0.4 s after the writers are done and nothing comes
            rows = await source.fetch_after(cursor, 50, INGEST_BATCH_BYTES)
            if rows:
                seen += [row.id for row in rows]
                cursor = rows[-1].id
            else:
                idle = idle + 1 if writing.done() else 0
                await asyncio.sleep(0.002)
        await writing
    assert sorted(seen) == sorted(set(seen))
    assert len(seen) == 200
    for conn in writers:
        await conn.close()


async def test_an_unreachable_database_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot connect"):
        async with PgOutboxSource("postgresql://postgres@127.0.0.1:1/none"):
            pass


async def test_big_rows_are_read_in_batches_within_the_byte_budget(outbox_url: str) -> None:
    """40 payloads of 900 kB: each read brings at most INGEST_BATCH_BYTES into memory, every row once, in order."""
    writer = await asyncpg.connect(outbox_url)
    try:
        pad = "x" * 900_000
        ids = [await writer.fetchval(INSERT, *event(n)[:5], json.dumps({"order_id": f"order:{n}", "pad": pad}))
               for n in range(40)]  # fmt: skip
    finally:
        await writer.close()
    seen: list[int] = []
    loaded: list[int] = []
    async with PgOutboxSource(outbox_url) as source:
        while rows := await source.fetch_after(seen[-1] if seen else 0, 1000, INGEST_BATCH_BYTES):
            seen += [row.id for row in rows]
            loaded.append(sum(len(row.payload.encode()) for row in rows))
    assert seen == ids
    assert len(loaded) > 1
    assert max(loaded) <= INGEST_BATCH_BYTES
