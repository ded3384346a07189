"""Operator actions: retry and discard (single and bulk with a dry-run count), audited; stats per shop."""

from __future__ import annotations

import json

from store_helpers import FakeClock, Producer

from outboxd.outbox import OutboxSource
from outboxd.store import FailedFilter, Store


async def _fail_heads(store: Store, status: int, error_class: str = "permanent") -> list[int]:
    ids = []
    for delivery in await store.deliveries.claim(100):
        await store.deliveries.mark_failed(delivery.id, error_class, f"HTTP {status}", status)
        ids.append(delivery.id)
    return ids


async def test_retry_unblocks_after_a_fix_and_is_audited(
    store: Store, source: OutboxSource, producer: Producer
) -> None:
    producer.insert("order:a", "order:a")
    await store.deliveries.ingest_from(source)
    (failed,) = await _fail_heads(store, 422)
    assert await store.deliveries.claim(10) == []
    assert await store.queue.retry([failed, 999], actor="alice") == 1
    (again,) = await store.deliveries.claim(10)
    assert (again.id, again.attempts, again.last_status) == (failed, 0, 422)
    (entry,) = await store.audit.list()
    assert (entry.actor, entry.action, entry.target) == ("alice", "delivery.retry", f"delivery:{failed}")
    assert json.loads(entry.detail)["event_id"] == "ev-1"


async def test_discard_lets_the_aggregate_flow_and_spares_leased_rows(
    store: Store, source: OutboxSource, producer: Producer
) -> None:
    producer.insert("order:a", "order:a", "order:b")
    await store.deliveries.ingest_from(source)
    a1, b1 = await store.deliveries.claim(10)
    await store.deliveries.mark_failed(a1.id, "booking", "vat_rate 8.5", None)
    assert await store.queue.discard([a1.id, b1.id], reason="duplicate ticket", actor="bob") == 1  # b1 in flight
    assert [d.event_id for d in await store.deliveries.claim(10)] == ["ev-2"]
    (entry,) = await store.audit.list(shop_id="shop-1")
    assert json.loads(entry.detail) == {"reason": "duplicate ticket", "event_id": "ev-1"}


async def test_bulk_by_filter_with_dry_run(
    store: Store, source: OutboxSource, producer: Producer, clock: FakeClock
) -> None:
    producer.insert("order:a", "order:b", shop="shop-1")
    producer.insert("order:c", shop="shop-2")
    await store.deliveries.ingest_from(source)
    claimed = await store.deliveries.claim(10)
    for delivery, status in zip(claimed, (422, 500, 422), strict=True):
        await store.deliveries.mark_failed(delivery.id, "permanent", "no", status)
    only_422 = FailedFilter(http_status=422)
    assert await store.queue.count_failed(only_422) == 2
    assert await store.queue.count_failed(FailedFilter(shop_id="shop-1", http_status=422)) == 1
    assert await store.queue.count_failed(FailedFilter(failed_before=clock())) == 0
    assert [d.shop_id for d in await store.queue.failed(only_422)] == ["shop-1", "shop-2"]
    assert await store.queue.count_failed(only_422) == 2  # counting changed nothing
    assert await store.queue.discard_matching(only_422, reason="test shop", actor="carol") == 2
    assert await store.queue.retry_matching(FailedFilter(), actor="carol") == 1
    assert [e.action for e in await store.audit.list()] == ["delivery.retry", "delivery.discard", "delivery.discard"]
    assert await store.queue.count_failed() == 0


async def test_stats_and_detail(store: Store, source: OutboxSource, producer: Producer) -> None:
    producer.insert("order:a", "order:a", "order:b", "order:c")
    await store.deliveries.ingest_from(source)
    a1, b1, c1 = await store.deliveries.claim(10)
    await store.deliveries.mark_delivered(a1.id)
    await store.deliveries.mark_failed(b1.id, "permanent", "422", 422)
    await store.entries.record_first("shop-1", "KC-1", b1.id, 7, "2026-03-14", "hash")
    await store.entries.record_attempt(b1.id, started_at=a1.created_at, outcome="failed", http_status=422,
                                       response_body='{"error": "no"}')  # fmt: skip
    (stats,) = await store.queue.stats()
    assert (stats.pending, stats.leased, stats.failed, stats.delivered, stats.delivered_today) == (1, 1, 1, 1, 1)
    assert stats.depth == 2
    second = await store.deliveries.get(a1.id + 1)
    assert second is not None
    assert stats.oldest_pending_at == second.created_at  # ev-2, the pending head once ev-1 was delivered
    detail = await store.queue.detail(b1.id)
    assert detail is not None
    assert [e.piece_number for e in detail.entries] == ["KC-1"]
    assert [(a.outcome, a.http_status) for a in detail.attempts] == [("failed", 422)]
    assert c1.state == "leased"
