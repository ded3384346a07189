"""``Queue.blocked_by`` and ``Queue.holding_reference``: what waits behind an open delivery, as the claim decides.

A later event waits behind the open head of its aggregate; every later event of a shop waits behind the shop's
oldest open reference snapshot (the claim's barrier, ``test_store_claim``). The control API shows both.
"""

from __future__ import annotations

from store_helpers import Producer

from outboxd.outbox import OutboxSource
from outboxd.store import Store
from outboxd.store.queue import Blocked


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
    assert await store.queue.blocked_by(failed) == Blocked((a2, a3), 2)
    assert await store.queue.holding_reference("shop-1") is None

    assert await store.queue.discard([a2], "duplicate ticket", actor="alice") == 1
    assert await store.queue.blocked_by(failed) == Blocked((a3,), 1)
    await store.deliveries.mark_delivered(b1.id)
    delivered = await store.deliveries.get(b1.id)
    assert delivered is not None
    assert await store.queue.blocked_by(delivered) == Blocked()


async def test_a_failed_reference_holds_every_later_event_of_its_shop_counted_past_the_listed_ids(
    store: Store, source: OutboxSource, producer: Producer
) -> None:
    producer.insert("order:a", "reference", "order:b", "order:c", "order:b", "reference")
    producer.insert("order:z", "order:y", shop="shop-2")
    await store.deliveries.ingest_from(source)
    claimed = await store.deliveries.claim_heads({"shop-1": 10, "shop-2": 10})
    reference = next(d for d in claimed if d.aggregate_id == "reference")
    assert {d.aggregate_id for d in claimed if d.shop_id == "shop-1"} == {"order:a", "reference"}
    assert await store.queue.holding_reference("shop-1") is None  # leased: on its way, nothing to say
    await store.deliveries.mark_failed(reference.id, "booking", "vat_rate 2.1: not in mapping.vat_rates")

    held = await store.queue.holding_reference("shop-1")
    assert held is not None
    assert held.id == reference.id
    later = tuple(range(reference.id + 1, reference.id + 5))  # b, c, b and the next snapshot
    assert await store.queue.blocked_by(held) == Blocked(later, 4, whole_shop=True)
    assert await store.queue.blocked_by(held, limit=2) == Blocked(later[:2], 4, whole_shop=True)
    second = await store.deliveries.get(later[-1])
    assert second is not None
    assert await store.queue.blocked_by(second) == Blocked()  # behind the first one, holding nothing itself
    assert await store.queue.holding_reference("shop-2") is None

    await store.queue.discard([reference.id], "superseded by the next snapshot", actor="alice")
    assert await store.queue.holding_reference("shop-1") is None  # the next snapshot is pending: it will go
    assert await store.queue.blocked_by(second) == Blocked((), 0, whole_shop=True)
