"""Hostile rows in a PostgreSQL outbox: a payload over 1 MB is measured in SQL and left unread, an aggregate id of
5 MB is cut in SQL before it is loaded, a shop id with a terminal escape lands in quarantine; each is one failed
delivery and the good row beside them flows."""

from __future__ import annotations

import json

import asyncpg
from pg_helpers import INSERT, event

from outboxd.contract.limits import MAX_COLUMN_READ, MAX_PAYLOAD_BYTES
from outboxd.contract.row import QUARANTINE_SHOP
from outboxd.outbox import PgOutboxSource
from outboxd.store import open_store
from outboxd.store.deliveries import INGEST_BATCH_BYTES


async def test_an_oversized_payload_a_huge_column_and_an_escaped_shop_id_fail_alone(outbox_url: str) -> None:
    writer = await asyncpg.connect(outbox_url)
    try:
        big = (*event(1)[:5], json.dumps({"order_id": "order:1", "x": "y" * MAX_PAYLOAD_BYTES}))
        ids = [await writer.fetchval(INSERT, *big), await writer.fetchval(INSERT, *event(2, shop="s1\x1b[2J")),
               await writer.fetchval(INSERT, *event(3)),
               await writer.fetchval(INSERT, *event(4)[:3], "x" * 5_000_000, *event(4)[4:])]  # fmt: skip
    finally:
        await writer.close()
    async with PgOutboxSource(outbox_url) as source, open_store(outbox_url, owner="a") as store:
        rows = await source.fetch_after(0, 10, INGEST_BATCH_BYTES)
        assert rows[0].payload is None
        assert rows[0].payload_bytes is not None
        assert rows[0].payload_bytes > MAX_PAYLOAD_BYTES
        assert len(rows[3].aggregate_id) == MAX_COLUMN_READ  # 5 MB in the table, 4 kB loaded
        assert await store.deliveries.ingest_from(source) == 4
        found = {}
        for (delivery_id,) in await store.db.read("SELECT id FROM deliveries"):
            delivery = await store.deliveries.get(delivery_id)
            assert delivery is not None
            found[delivery.outbox_id] = delivery
    big_one, escaped, good, huge = (found[i] for i in ids)
    assert (big_one.shop_id, big_one.state, big_one.last_error_class) == ("shop-1", "failed", "contract")
    assert str(big_one.last_error).startswith("payload: is 1,0")
    assert (escaped.shop_id, escaped.state) == (QUARANTINE_SHOP, "failed")
    assert str(escaped.last_error).startswith("shop_id: holds the control or bidi character U+001B")
    assert (good.shop_id, good.state) == ("shop-1", "pending")
    assert (huge.state, str(huge.last_error)) == (
        "failed", "aggregate_id: is 4,096 characters long or more, more than 120 (send at most 120 characters)")
