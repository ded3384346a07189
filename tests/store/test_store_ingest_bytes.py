"""Ingestion reads a batch of rows bounded in payload bytes as well as in rows: measured before the rows are loaded."""

from __future__ import annotations

import json

from store_helpers import Producer

from outboxd.contract.limits import MAX_PAYLOAD_BYTES
from outboxd.outbox import INSERT_SQL
from outboxd.store import OutboxRow, Store
from outboxd.store.deliveries import INGEST_BATCH_BYTES, EventSource

LARGE = 900_000  # bytes of one payload, under the contract's 1 MB


class Measured:
    """The source as ingestion sees it, counting the payload bytes each read brought into memory."""

    def __init__(self, source: EventSource) -> None:
        self.name = source.name
        self._source = source
        self.loaded: list[int] = []

    async def fetch_after(self, last_id: int, limit: int, max_bytes: int) -> list[OutboxRow]:
        rows = await self._source.fetch_after(last_id, limit, max_bytes)
        self.loaded.append(sum(len(row.payload.encode()) for row in rows if row.payload is not None))
        return rows


def _insert(producer: Producer, count: int, size: int, *, oversized: int | None = None) -> list[str]:
    rows = []
    for n in range(count):
        pad = "x" * (MAX_PAYLOAD_BYTES if n == oversized else size)
        payload = json.dumps({"order_id": f"o-{n}", "pad": pad})
        rows.append((f"big-{size}-{n}", "shop-1", "order.recorded", f"order:{n}", "2026-03-14T18:02:11+01:00", payload))
    with producer.conn:
        producer.conn.executemany(INSERT_SQL, rows)
    return [row[0] for row in rows]


async def test_a_run_of_large_rows_is_read_in_batches_of_bounded_bytes(
    store: Store, source: EventSource, producer: Producer
) -> None:
    event_ids = _insert(producer, 40, LARGE, oversized=17)
    measured = Measured(source)
    batches = []
    while added := await store.deliveries.ingest_from(measured):
        batches.append(added)
    per_batch = INGEST_BATCH_BYTES // (LARGE + 40)
    assert len(batches) >= 40 // per_batch
    assert max(measured.loaded) <= INGEST_BATCH_BYTES  # what was read, not only what was kept
    assert sum(measured.loaded) < 40 * (LARGE + 40)  # the oversized row was never read
    rows = await store.db.read("SELECT event_id, state, last_error_class FROM deliveries ORDER BY outbox_id")
    assert [row[0] for row in rows] == event_ids  # each row once, in the outbox's order
    assert [(row[1], row[2]) for row in rows if row[0] == event_ids[17]] == [("failed", "contract")]


async def test_a_row_larger_than_the_budget_still_moves_on(source: EventSource, producer: Producer) -> None:
    _insert(producer, 3, LARGE)
    first = await source.fetch_after(0, 1000, LARGE // 2)
    assert len(first) == 1  # alone, whatever its size
    assert [row.id for row in await source.fetch_after(first[0].id, 1000, 2 * LARGE + 100)] == [2, 3]


async def test_small_rows_still_go_a_thousand_at_a_time(store: Store, source: EventSource, producer: Producer) -> None:
    _insert(producer, 1500, 200)
    assert await store.deliveries.ingest_from(source) == 1000
    assert await store.deliveries.ingest_from(source) == 500
