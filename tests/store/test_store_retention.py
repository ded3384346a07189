"""Retention on both backends: what is settled and old loses its payload and bodies, the rest is kept for ever."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

from store_helpers import INSERT_SQL, FakeClock, Producer, sqlite_only

from outboxd.store import Store
from outboxd.store.deliveries import EventSource
from outboxd.store.models import Delivery, ImportedEvent
from outboxd.store.retention import PRUNED_PAYLOAD, Retention

AGE = dt.timedelta(days=90)
BODY = "POST /ledger_entries " + "x" * 2000


async def _deliver(store: Store, clock: FakeClock, count: int) -> list[int]:
    """Claim ``count`` heads and settle each delivered, with an entry and an attempt's bodies."""
    ids = []
    for delivery in await store.deliveries.claim(count):
        piece = f"P-{delivery.id}"
        await store.entries.record_first(delivery.shop_id, piece, delivery.id, 11, "2026-03-14", "h")
        await store.settle_delivered(
            delivery.shop_id, delivery.id, started_at=clock(), posted=(piece, 1000 + delivery.id), http_status=201,
            request_body=BODY, response_body='{"id": 1}',
        )  # fmt: skip
        ids.append(delivery.id)
    return ids


def _insert(producer: Producer, *rows: tuple[str, str]) -> None:
    """(aggregate, event type) rows into the outbox, as Kash.Click writes them."""
    with producer.conn:
        producer.conn.executemany(INSERT_SQL, [producer.row(aggregate, event_type=kind) for aggregate, kind in rows])


async def test_what_is_settled_and_old_is_pruned_and_what_prevents_a_duplicate_stays(
    store: Store, source: EventSource, producer: Producer, clock: FakeClock
) -> None:
    _insert(producer, ("order:a", "order.recorded"), ("pay:a", "payment.recorded"), ("z:1", "register.closed"))
    await store.deliveries.ingest_from(source)
    order, payment, closing = await _deliver(store, clock, 10)
    clock.advance(30 * 86400)
    _insert(producer, ("order:b", "order.recorded"), ("order:c", "order.recorded"), ("order:d", "order.recorded"))
    await store.deliveries.ingest_from(source)
    (recent, failed, waiting) = await store.deliveries.claim(10)
    await _deliver_one(store, clock, recent.id)
    await store.deliveries.mark_failed(failed.id, "booking", "no account for VAT 8.5")
    await store.deliveries.release()  # ``waiting`` stays pending
    clock.advance(61 * 86400)  # the first three were settled 91 days ago, ``recent`` 61 days ago

    assert await Retention(store.db, store.clock).prune(AGE) == 3
    assert await Retention(store.db, store.clock).prune(AGE) == 0  # nothing left to do: a pass is cheap
    ids = (order, payment, closing, recent.id, failed.id)
    payloads = dict(zip(ids, [d.payload for d in await _deliveries(store, *ids)], strict=True))
    assert payloads[order] == PRUNED_PAYLOAD
    assert json.loads(payloads[payment])["order_id"] == "pay:a"  # the Z control reads payments and closings
    assert json.loads(payloads[closing])["order_id"] == "z:1"
    assert PRUNED_PAYLOAD not in (payloads[recent.id], payloads[failed.id])
    for delivery_id in (order, payment, closing):
        (attempt,) = await store.entries.attempts_of(delivery_id)
        assert (attempt.request_body, attempt.response_body) == (None, None)
        assert (attempt.outcome, attempt.http_status) == ("delivered", 201)  # what happened stays
        (entry,) = await store.entries.of_delivery(delivery_id)
        assert (entry.piece_number, entry.state) == (f"P-{delivery_id}", "posted")  # the piece-number record
    (kept,) = await store.entries.attempts_of(recent.id)
    assert kept.request_body == BODY
    again = [ImportedEvent(d.event_id, d.shop_id, d.event_type, d.aggregate_id, "2026-03-14T18:00:00Z", "{}")
             for d in await _deliveries(store, order, payment, closing)]  # fmt: skip
    assert await store.deliveries.ingest_rows(again) == 0  # the dedup memory stays: an event is never booked twice
    waiting_now = await store.deliveries.get(waiting.id)
    assert waiting_now is not None
    assert waiting_now.state == "pending"


async def _deliveries(store: Store, *ids: int) -> list[Delivery]:
    found = [await store.deliveries.get(delivery_id) for delivery_id in ids]
    assert None not in found
    return [d for d in found if d is not None]


async def _deliver_one(store: Store, clock: FakeClock, delivery_id: int) -> None:
    piece = f"P-{delivery_id}"
    await store.entries.record_first("shop-1", piece, delivery_id, 11, "2026-03-14", "h")
    await store.settle_delivered(
        "shop-1", delivery_id, started_at=clock(), posted=(piece, 1000 + delivery_id), request_body=BODY
    )


async def test_a_pass_prunes_every_due_delivery_in_short_batches(
    store: Store, source: EventSource, producer: Producer, clock: FakeClock
) -> None:
    _insert(producer, *((f"order:{n}", "order.recorded") for n in range(450)))
    await store.deliveries.ingest_from(source)
    delivered = await _deliver(store, clock, 450)
    assert len(delivered) == 450
    clock.advance(91 * 86400)
    assert await Retention(store.db, store.clock).prune(AGE) == 450
    rows = await store.db.read("SELECT count(*) FROM deliveries WHERE payload = $1", (PRUNED_PAYLOAD,))
    assert rows[0][0] == 450


def _in_use(path: Path | str, copy: Path | None = None) -> int:
    """Bytes of the pages holding data (after a checkpoint); with ``copy``: those of a VACUUM INTO copy."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if copy is not None:
            conn.execute("VACUUM INTO ?", (str(copy),))
            return _in_use(copy)
        pages, free, size = (conn.execute(f"PRAGMA {name}").fetchone()[0] for name in
                             ("page_count", "freelist_count", "page_size"))  # fmt: skip
        return int((pages - free) * size)
    finally:
        conn.close()


@sqlite_only
async def test_a_pruned_sqlite_database_is_as_compact_as_a_vacuumed_copy(
    store: Store, source: EventSource, producer: Producer, clock: FakeClock, state_path: Path, tmp_path: Path
) -> None:
    """Rows shrunk in place would keep their pages as full as before: the pruned ones are packed, no VACUUM."""
    ticket = {"order_id": "o", "business_date": "2026-03-14", "lines": [{"label": "x" * 40, "qty": 1}] * 12}
    with producer.conn:
        producer.conn.executemany(INSERT_SQL, [
            (f"ev-{n}", "shop-1", "order.recorded", f"order:{n}", "2026-03-14T18:02:11+01:00", json.dumps(ticket))
            for n in range(400)
        ])  # fmt: skip
    await store.deliveries.ingest_from(source)
    delivered = await _deliver(store, clock, 400)
    clock.advance(91 * 86400)
    assert await Retention(store.db, store.clock).prune(AGE) == 400
    in_use, vacuumed = _in_use(state_path), _in_use(state_path, tmp_path / "vacuumed.sqlite3")
    assert in_use <= vacuumed * 1.15, (in_use, vacuumed)
    conn = sqlite3.connect(state_path)
    try:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert [row[0] for row in conn.execute("SELECT id FROM deliveries ORDER BY id")] == sorted(delivered)
        assert conn.execute("SELECT count(*) FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries)"
                            ).fetchone()[0] == 400  # fmt: skip
        entries = conn.execute("SELECT delivery_id, piece_number, state, body_hash FROM sent_entries").fetchall()
        assert sorted(entries) == sorted((d, f"P-{d}", "posted", None) for d in delivered)
    finally:
        conn.close()
