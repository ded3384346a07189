"""The delivery's hot-path writes: record before the first POST, units of a group commit, the delivered unit."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from store_helpers import FakeClock, Producer, sqlite_only

from outboxd.exceptions import PieceNumberTaken, StoreError
from outboxd.outbox import OutboxSource
from outboxd.store import Store


async def test_record_first_says_whether_the_entry_is_new(
    store: Store, source: OutboxSource, producer: Producer
) -> None:
    producer.insert("order:a", "order:b")
    await store.deliveries.ingest_from(source)
    a, b = await store.deliveries.claim(10)
    assert await store.entries.record_first("shop-1", "T-1-r1", a.id, 11, dt.date(2026, 3, 14), "h1") is None
    again = await store.entries.record_first("shop-1", "T-1-r1", a.id, 11, dt.date(2026, 3, 14), "h1")
    assert again is not None
    assert (again.state, again.delivery_id, again.journal_id) == ("recorded", a.id, 11)  # look it up first
    await store.entries.mark_posted("shop-1", "T-1-r1", 987)
    posted = await store.entries.record_first("shop-1", "T-1-r1", a.id, 12, "2026-03-14", "h2")
    assert posted is not None
    assert (posted.state, posted.pennylane_id, posted.journal_id) == ("posted", 987, 11)
    with pytest.raises(PieceNumberTaken, match="already belongs to delivery") as taken:
        await store.entries.record_first("shop-1", "T-1-r1", b.id, 11, "2026-03-14", "h")
    assert taken.value.owner == a.id


@sqlite_only  # group commits are the SQLite database's (PostgreSQL runs write_many as a transaction)
async def test_a_unit_commits_whole_or_not_at_all_beside_the_others(store: Store) -> None:
    insert = "INSERT INTO order_accounts (shop_id, order_id, ledger_account_id) VALUES (?, ?, ?)"
    good, bad, alone = await asyncio.gather(
        store.db.write_many([(insert, ("s1", "o-1", 1)), (insert, ("s1", "o-2", 2))]),
        store.db.write_many([(insert, ("s1", "o-3", 3)), (insert, ("s1", "o-1", 4))]),  # o-1 exists: undone
        store.db.write(insert, ("s1", "o-4", 5)),
        return_exceptions=True,
    )
    assert good == [1, 1]
    assert isinstance(bad, StoreError)
    assert alone == 1
    rows = await store.db.read("SELECT order_id, ledger_account_id FROM order_accounts ORDER BY order_id")
    assert [tuple(r) for r in rows] == [("o-1", 1), ("o-2", 2), ("o-4", 5)]


@sqlite_only  # the writer connection and its BEGIN on aiosqlite's thread are SQLite's
async def test_a_transaction_cancelled_during_its_begin_leaves_no_transaction_open(store: Store) -> None:
    """A stop cancels tasks wherever they wait: a BEGIN still ran on the thread, and a writer left inside it would
    make the next group commit part of a transaction nobody commits, and the next BEGIN fail."""
    insert = "INSERT INTO order_accounts (shop_id, order_id, ledger_account_id) VALUES (?, ?, ?)"

    async def begun() -> None:
        async with store.db.transaction() as tx:
            await tx.execute(insert, ("s1", "o-never", 1))

    for _ in range(20):
        task = asyncio.create_task(begun())
        await asyncio.sleep(0)  # the task now waits for its BEGIN IMMEDIATE
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert not store.db.writer.in_transaction
    async with store.db.transaction() as tx:
        await tx.execute(insert, ("s1", "o-1", 2))
    rows = await store.db.read("SELECT order_id FROM order_accounts")
    assert [r[0] for r in rows] == ["o-1"]


async def test_settle_delivered_writes_the_end_of_a_delivery_in_one_unit(
    store: Store, source: OutboxSource, producer: Producer, clock: FakeClock
) -> None:
    producer.insert("order:a")
    await store.deliveries.ingest_from(source)
    (a,) = await store.deliveries.claim(10)
    assert await store.entries.record_first("shop-1", "T-1-r1", a.id, 11, "2026-03-14", "h") is None
    started = clock()
    clock.advance(1)
    assert await store.settle_delivered(
        "shop-1", a.id, started_at=started, posted=("T-1-r1", 555), order_account=("o-1", 43), http_status=201,
        request_body="POST /ledger_entries {}", response_body='{"id":555}',
    )  # fmt: skip
    (entry,) = await store.entries.of_delivery(a.id)
    assert (entry.state, entry.pennylane_id) == ("posted", 555)
    assert await store.caches.order_account("shop-1", "o-1") == 43
    done = await store.deliveries.get(a.id)
    assert done is not None
    assert (done.state, done.attempts, done.lease_owner, done.delivered_at) == ("delivered", 1, None, clock())
    (attempt,) = await store.entries.attempts_of(a.id)
    assert (attempt.outcome, attempt.http_status, attempt.started_at, attempt.finished_at) == (
        "delivered", 201, started, clock(),
    )  # fmt: skip


async def test_settle_delivered_after_a_lost_lease_keeps_the_entry_and_leaves_the_delivery(
    store: Store, source: OutboxSource, producer: Producer, clock: FakeClock
) -> None:
    producer.insert("order:a")
    await store.deliveries.ingest_from(source)
    (a,) = await store.deliveries.claim(10)
    await store.entries.record_first("shop-1", "T-1-r1", a.id, 11, "2026-03-14", "h")
    await store.db.write("UPDATE deliveries SET lease_owner = 'someone-else' WHERE id = $1", (a.id,))
    assert not await store.settle_delivered("shop-1", a.id, started_at=clock(), posted=("T-1-r1", 555))
    (entry,) = await store.entries.of_delivery(a.id)
    assert entry.state == "posted"  # it is in Pennylane whoever owns the delivery now
    still = await store.deliveries.get(a.id)
    assert still is not None
    assert (still.state, still.lease_owner) == ("leased", "someone-else")


def test_instants_are_stored_as_fixed_width_utc_text() -> None:
    from outboxd.store._db import from_text, to_text

    paris = dt.timezone(dt.timedelta(hours=1))
    moments = [
        dt.datetime(2026, 3, 14, 18, 0, tzinfo=paris),
        dt.datetime(2026, 3, 14, 17, 0, 0, 5, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 14, 17, 0, 1, tzinfo=dt.UTC),
    ]
    texts = [to_text(m) for m in moments]
    assert texts == ["2026-03-14T17:00:00.000000Z", "2026-03-14T17:00:00.000005Z", "2026-03-14T17:00:01.000000Z"]
    assert sorted(texts) == texts  # text order is time order
    assert [from_text(t) for t in texts] == moments
    with pytest.raises(StoreError, match="naive"):
        to_text(dt.datetime(2026, 3, 14, 17, 0))
