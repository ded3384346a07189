"""Ingestion copies a batch of rows bounded in payload bytes as well as in rows."""

from __future__ import annotations

import json

from store_helpers import INSERT_SQL, Producer

from outboxd.store import Store
from outboxd.store.deliveries import INGEST_BATCH_BYTES, EventSource

LARGE = 900_000  # bytes of one payload, under the contract's 1 MB


def _insert(producer: Producer, count: int, size: int) -> None:
    rows = []
    for n in range(count):
        payload = json.dumps({"order_id": f"o-{n}", "pad": "x" * size})
        rows.append((f"big-{size}-{n}", "shop-1", "order.recorded", f"order:{n}", "2026-03-14T18:02:11+01:00", payload))
    with producer.conn:
        producer.conn.executemany(INSERT_SQL, rows)


async def test_a_run_of_large_rows_is_copied_in_batches_of_bounded_bytes(
    store: Store, source: EventSource, producer: Producer
) -> None:
    _insert(producer, 20, LARGE)
    batches = []
    while added := await store.deliveries.ingest_from(source):
        batches.append(added)
    per_batch = INGEST_BATCH_BYTES // (LARGE + 40)
    assert batches == [per_batch, per_batch, 20 - 2 * per_batch]
    rows = await store.db.read("SELECT count(*) FROM deliveries")
    assert rows[0][0] == 20  # nothing skipped: the cursor follows what was copied


async def test_small_rows_still_go_a_thousand_at_a_time(store: Store, source: EventSource, producer: Producer) -> None:
    _insert(producer, 1500, 200)
    assert await store.deliveries.ingest_from(source) == 1000
    assert await store.deliveries.ingest_from(source) == 500
