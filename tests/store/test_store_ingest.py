"""Ingestion from the outbox: the cursor never skips a row and never copies one twice."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from store_helpers import Producer

from outboxd.exceptions import StoreError
from outboxd.outbox import INSERT_SQL, OutboxSource, open_outbox
from outboxd.store import ImportedEvent, Store


async def _event_ids(store: Store) -> list[str]:
    return [row[0] for row in await store.db.read("SELECT event_id FROM deliveries ORDER BY id")]


async def _drain(store: Store, source: OutboxSource, batch: int = 3) -> None:
    while await store.deliveries.ingest_from(source, batch) == batch:
        pass


async def test_ingest_interleaved_with_producer_and_a_rollback(
    store: Store, source: OutboxSource, producer: Producer, outbox_path: Path
) -> None:
    producer.insert("order:a", "order:b")
    await _drain(store, source)
    # A producer transaction that takes ids and rolls back, while another connection keeps inserting.
    other = open_outbox(outbox_path)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute(INSERT_SQL, ("rolled-back", "shop-1", "order.recorded", "order:x", "t", "{}"))
        await _drain(store, source)  # readers never wait for the open write transaction
        other.rollback()
    finally:
        other.close()
    producer.insert("order:c")
    await _drain(store, source)
    producer.insert("order:a", "order:d", "order:e", "order:f")
    with producer.conn:  # a retried producer transaction: the same event_id is one event
        producer.conn.execute(INSERT_SQL, ("ev-1", "shop-1", "order.recorded", "order:a", "t", "{}"))
    await _drain(store, source)
    await _drain(store, source)
    with sqlite3.connect(outbox_path) as conn:
        in_outbox = [row[0] for row in conn.execute("SELECT event_id FROM outbox ORDER BY id")]
    assert await _event_ids(store) == in_outbox
    assert "rolled-back" not in in_outbox
    assert len(in_outbox) == 7
    assert await store.deliveries.cursor() == await source.last_id()


async def test_business_date_is_extracted_and_bad_json_does_not_stop_ingestion(
    store: Store, source: OutboxSource, producer: Producer
) -> None:
    with producer.conn:
        producer.conn.execute(INSERT_SQL, ("bad", "shop-1", "order.recorded", "order:z", "t", "{not json"))
    producer.insert("order:y")
    assert await store.deliveries.ingest_from(source, 10) == 2
    rows = await store.db.read("SELECT event_id, business_date FROM deliveries ORDER BY id")
    assert [tuple(r) for r in rows] == [("bad", None), ("ev-1", "2026-03-14")]


async def test_changed_notices_commits_of_other_connections(source: OutboxSource, producer: Producer) -> None:
    assert await source.changed()
    assert not await source.changed()
    producer.insert("order:a")
    assert await source.changed()
    assert not await source.changed()


async def test_import_ignores_known_event_ids(store: Store, source: OutboxSource, producer: Producer) -> None:
    producer.insert("order:a")
    await store.deliveries.ingest_from(source)
    events = [
        ImportedEvent("ev-1", "shop-1", "order.recorded", "order:a", "t", "{}"),
        ImportedEvent("old-1", "shop-1", "order.recorded", "order:old", "t", "{}"),
    ]
    assert await store.deliveries.ingest_rows(events) == 1
    assert await store.deliveries.ingest_rows(events) == 0
    assert await _event_ids(store) == ["ev-1", "old-1"]


async def test_source_refuses_a_missing_file_and_does_not_create_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    with pytest.raises(StoreError, match="does not exist"):
        async with OutboxSource(missing):
            pass
    assert not missing.exists()


async def test_source_refuses_an_outbox_not_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "rollback.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY)")
    with pytest.raises(StoreError, match="WAL"):
        async with OutboxSource(path):
            pass
