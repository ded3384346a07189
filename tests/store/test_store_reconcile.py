"""The store side of a reconcile: pieces found in Pennylane recorded as posted (no delivery, no digest), so that
the dedup rule skips them; open deliveries dated before a day; migration 0004 keeps what was recorded before."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from store_helpers import FakeClock, Producer, sqlite_only

from outboxd.outbox import OutboxSource
from outboxd.store import DEFAULT_LEASE, Store, apply_migrations, known_migrations, open_store
from outboxd.store.deliveries import Deliveries
from outboxd.store.entries import Entries
from outboxd.store.reconcile import FoundEntry, OpenBefore, Reconciliation, Tally
from outboxd.store.sqlite import SqliteDatabase


def _reconciliation(store: Store) -> Reconciliation:
    return Reconciliation(store.db, store.clock)


async def _entry(store: Store, piece: str, shop: str = "shop-1") -> tuple[object, ...] | None:
    """(state, Pennylane id, delivery, body hash) of a sent entry, None if the store has no record of it."""
    e = await store.entries.get(shop, piece)
    return None if e is None else (e.state, e.pennylane_id, e.delivery_id, e.body_hash)


async def test_found_pieces_are_posted_whatever_the_state_database_knew(
    store: Store, source: OutboxSource, producer: Producer, clock: FakeClock
) -> None:
    producer.insert("order:a", "order:b")
    await store.deliveries.ingest_from(source)
    a, b = await store.deliveries.claim(10)
    await store.entries.record_first("shop-1", "T-1-r1", a.id, 11, "2026-03-14", "h1")  # the POST may have landed
    await store.entries.record_first("shop-1", "T-2-r1", b.id, 11, "2026-03-14", "h2")
    await store.entries.mark_posted("shop-1", "T-2-r1", 502)
    clock.advance(60)
    found = [
        FoundEntry("T-1-r1", 501, 11, "2026-03-14"),
        FoundEntry("T-2-r1", 999, 11, "2026-03-14"),
        FoundEntry("T-3-r1", 503, 12, "2026-03-15"),
        FoundEntry("PAY-1", 504, 12, "2026-03-15"),
    ]
    owners = {"T-1-r1": b.id, "T-2-r1": a.id, "PAY-1": b.id}  # an owner is only given to a new record
    tally = await _reconciliation(store).record_posted("shop-1", found, owners)
    assert tally == Tally(recorded=2, confirmed=1, known=1)

    assert await _entry(store, "T-1-r1") == ("posted", 501, a.id, "h1")
    assert await _entry(store, "T-2-r1") == ("posted", 502, b.id, "h2")  # Pennylane's first id stays
    assert await _entry(store, "T-3-r1") == ("posted", 503, None, None)
    assert await _entry(store, "PAY-1") == ("posted", 504, b.id, None)
    assert [e.piece_number for e in await store.entries.of_delivery(b.id)] == ["T-2-r1", "PAY-1"]
    new = await store.entries.get("shop-1", "T-3-r1")
    assert new is not None
    assert (new.journal_id, new.entry_date, new.created_at) == (12, "2026-03-15", clock.now)
    assert await _entry(store, "T-3-r1", shop="shop-2") is None  # recorded for that shop only

    again = await _reconciliation(store).record_posted("shop-1", found)
    assert again == Tally(known=4)
    assert again + Tally(recorded=2) == Tally(recorded=2, known=4)


async def test_a_delivery_booking_a_reconciled_piece_finds_it_posted(
    store: Store, source: OutboxSource, producer: Producer
) -> None:
    producer.insert("order:a")
    await store.deliveries.ingest_from(source)
    (a,) = await store.deliveries.claim(10)
    await _reconciliation(store).record_posted("shop-1", [FoundEntry("T-1-r1", 501, 11, "2026-03-14")])
    known = await store.entries.record_first("shop-1", "T-1-r1", a.id, 11, "2026-03-14", "h")
    assert known is not None
    assert (known.state, known.pennylane_id) == ("posted", 501)  # the deliverer skips it: nothing posted twice
    assert await _entry(store, "T-1-r1") == ("posted", 501, None, None)


async def test_open_deliveries_dated_before_a_day(store: Store, source: OutboxSource, producer: Producer) -> None:
    reconciliation = _reconciliation(store)
    assert await reconciliation.open_before("shop-1", dt.date(2026, 3, 15)) == OpenBefore(0, None)
    producer.insert("order:a", "order:b")  # both dated 2026-03-14
    producer.insert("order:c", shop="shop-2")
    await store.deliveries.ingest_from(source)
    assert await reconciliation.open_before("shop-1", dt.date(2026, 3, 15)) == OpenBefore(2, dt.date(2026, 3, 14))
    assert await reconciliation.open_before("shop-1", dt.date(2026, 3, 14)) == OpenBefore(0, None)
    for delivery in await store.deliveries.claim(10, shops={"shop-1"}):  # leased still counts, delivered not
        if delivery.aggregate_id == "order:a":
            await store.deliveries.mark_delivered(delivery.id)
    assert await reconciliation.open_before("shop-1", dt.date.max) == OpenBefore(1, dt.date(2026, 3, 14))
    since = [d.aggregate_id for d in await reconciliation.open_since("shop-1", dt.date(2026, 3, 14))]
    assert (since, await reconciliation.open_since("shop-1", dt.date(2026, 3, 15))) == (["order:b"], [])
    producer.insert("order:d", "order:e", "order:f")
    await store.deliveries.ingest_from(source)
    first = await reconciliation.open_since("shop-1", dt.date(2026, 3, 14), limit=2)
    rest = await reconciliation.open_since("shop-1", dt.date(2026, 3, 14), after_id=first[-1].id, limit=2)
    assert [d.aggregate_id for d in first + rest] == ["order:b", "order:d", "order:e", "order:f"]


@sqlite_only
async def test_migration_keeps_the_entries_recorded_before_it(
    state_path: Path, source: OutboxSource, producer: Producer, clock: FakeClock
) -> None:
    producer.insert("order:a")
    db = await SqliteDatabase.open(str(state_path))
    try:  # a database of the previous version, with a delivery and its posted entry
        await apply_migrations(db.writer, [m for m in known_migrations() if m.name != "reconciled_entries"])
        await Deliveries(db, clock, "t", DEFAULT_LEASE).ingest_from(source)
        await Entries(db, clock).record_first("shop-1", "T-1-r1", 1, 11, "2026-03-14", "h1")
    finally:
        await db.close()
    async with open_store(state_path, owner="t", clock=clock) as store:
        assert await _entry(store, "T-1-r1") == ("recorded", None, 1, "h1")
        await store.entries.mark_posted("shop-1", "T-1-r1", 501)
        tally = await Reconciliation(store.db, store.clock).record_posted(
            "shop-1", [FoundEntry("T-1-r1", 501, 11, "2026-03-14"), FoundEntry("T-2-r1", 502, 11, "2026-03-14")]
        )
        assert tally == Tally(recorded=1, known=1)
        assert [e.piece_number for e in await store.entries.of_delivery(1)] == ["T-1-r1"]
