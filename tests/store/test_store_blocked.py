"""``Queue.blocked_by``: the later open deliveries of an aggregate, waiting behind one (the control API's list)."""

from __future__ import annotations

from store_helpers import Producer

from outboxd.store import OutboxSource, Store


async def test_blocked_by_lists_later_open_deliveries_of_the_same_aggregate_only(
    store: Store, source: OutboxSource, producer: Producer
) -> None:
    producer.insert("order:a", "order:a", "order:b", "order:a")
    producer.insert("order:a", shop="shop-2")  # the same aggregate id in another shop is another aggregate
    await store.deliveries.ingest_from(source)
    heads = {d.aggregate_id + d.shop_id: d for d in await store.deliveries.claim(10)}
    a1, b1 = heads["order:ashop-1"], heads["order:bshop-1"]
    await store.deliveries.mark_failed(a1.id, "permanent", "HTTP 422", 422)
    failed = await store.deliveries.get(a1.id)
    assert failed is not None
    a2, a3 = a1.id + 1, a1.id + 3
    assert await store.queue.blocked_by(failed) == [a2, a3]

    assert await store.queue.discard([a2], "duplicate ticket", actor="alice") == 1
    assert await store.queue.blocked_by(failed) == [a3]
    await store.deliveries.mark_delivered(b1.id)
    delivered = await store.deliveries.get(b1.id)
    assert delivered is not None
    assert await store.queue.blocked_by(delivered) == []
