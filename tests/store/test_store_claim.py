"""Claims: strict order inside an aggregate, other aggregates flow, live first, leases come back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from store_helpers import FakeClock, Producer

from outboxd.outbox import OutboxSource
from outboxd.store import Store, open_store


async def _claim_aggregates(store: Store, limit: int = 100) -> list[str]:
    return [d.aggregate_id for d in await store.deliveries.claim(limit)]


async def test_only_the_head_of_an_aggregate_is_claimed(store: Store, source: OutboxSource, producer: Producer) -> None:
    producer.insert("order:a", "order:a", "order:b", "order:a", "order:c")
    await store.deliveries.ingest_from(source)
    first = await store.deliveries.claim(100)
    assert [(d.event_id, d.aggregate_id) for d in first] == [
        ("ev-1", "order:a"),
        ("ev-3", "order:b"),
        ("ev-5", "order:c"),
    ]
    assert await store.deliveries.claim(100) == []  # the second event of order:a waits for the leased first
    await store.deliveries.mark_delivered(first[0].id)
    assert [d.event_id for d in await store.deliveries.claim(100)] == ["ev-2"]


async def test_a_failed_or_retrying_event_blocks_only_its_aggregate(
    store: Store, source: OutboxSource, producer: Producer, clock: FakeClock
) -> None:
    producer.insert("order:a", "order:a", "order:b", "order:b")
    await store.deliveries.ingest_from(source)
    a1, b1 = await store.deliveries.claim(100)
    await store.deliveries.mark_failed(a1.id, "PermanentError", "422 unbalanced", 422)
    await store.deliveries.schedule_retry(b1.id, clock() + dt.timedelta(seconds=30), "RetryableError", "503", 503)
    assert await store.deliveries.claim(100) == []  # a2 behind failed a1; b1 not due; b2 behind pending b1
    clock.advance(31)
    assert [d.event_id for d in await store.deliveries.claim(100)] == ["ev-3"]
    producer.insert("order:c")
    await store.deliveries.ingest_from(source)
    assert [d.event_id for d in await store.deliveries.claim(100)] == ["ev-5"]
    failed = await store.deliveries.get(a1.id)
    assert failed is not None
    assert (failed.state, failed.attempts, failed.last_status) == ("failed", 1, 422)


async def test_discarded_and_skipped_unblock_the_aggregate(
    store: Store, source: OutboxSource, producer: Producer
) -> None:
    producer.insert("order:a", "order:a", "order:a")
    await store.deliveries.ingest_from(source)
    (a1,) = await store.deliveries.claim(100)
    await store.deliveries.mark_skipped(a1.id, "superseded")
    (a2,) = await store.deliveries.claim(100)
    assert a2.event_id == "ev-2"
    await store.deliveries.mark_failed(a2.id, "BookingError", "vat_rate 8.5: unknown")
    await store.db.write("UPDATE deliveries SET state = 'discarded' WHERE id = $1", (a2.id,))
    assert [d.event_id for d in await store.deliveries.claim(100)] == ["ev-3"]


async def test_live_events_go_before_backfill(store: Store, source: OutboxSource, producer: Producer) -> None:
    from outboxd.store import ImportedEvent

    await store.deliveries.ingest_rows(
        [ImportedEvent(f"old-{i}", "shop-1", "order.recorded", f"order:old{i}", "t", "{}") for i in range(3)]
    )
    producer.insert("order:new1", "order:new2")
    await store.deliveries.ingest_from(source)
    claimed = await store.deliveries.claim(3)
    assert [d.event_id for d in claimed] == ["ev-1", "ev-2", "old-0"]
    assert [d.backfill for d in claimed] == [False, False, False]  # an import without a backfill id


async def test_claim_limited_to_shops(store: Store, source: OutboxSource, producer: Producer) -> None:
    producer.insert("order:a", shop="shop-1")
    producer.insert("order:a", shop="shop-2")
    await store.deliveries.ingest_from(source)
    assert [d.shop_id for d in await store.deliveries.claim(10, shops={"shop-2"})] == ["shop-2"]
    assert [d.shop_id for d in await store.deliveries.claim(10)] == ["shop-1"]


async def test_expired_lease_of_a_crashed_owner_comes_back(
    state_path: Path, source: OutboxSource, producer: Producer, clock: FakeClock
) -> None:
    producer.insert("order:a", "order:b")
    lease = dt.timedelta(seconds=60)
    async with (
        open_store(state_path, owner="stalled", clock=clock, lease=lease) as stalled,
        open_store(state_path, owner="other", clock=clock, lease=lease) as alive,
    ):
        await stalled.deliveries.ingest_from(source)
        assert len(await stalled.deliveries.claim(10)) == 2  # then it stops answering (killed or stuck)
        assert await alive.deliveries.claim(10) == []
        clock.advance(61)
        again = await alive.deliveries.claim(10)
        assert [(d.event_id, d.lease_owner) for d in again] == [("ev-1", "other"), ("ev-2", "other")]
        assert all(d.attempts == 0 for d in again)
        # the stalled owner's late answer does not override the new lease
        assert not await stalled.deliveries.mark_delivered(again[0].id)
        assert await alive.deliveries.mark_delivered(again[0].id)


async def test_an_expired_lease_of_our_own_is_a_delivery_still_running_here_and_is_not_taken_back(
    store: Store, source: OutboxSource, producer: Producer, clock: FakeClock
) -> None:
    """A delivery slower than the lease (a long rate-limit wait) would otherwise be claimed and run a second time."""
    producer.insert("order:a", "order:b")
    await store.deliveries.ingest_from(source)
    (slow,) = await store.deliveries.claim_heads({"shop-1": 1})
    clock.advance(store.deliveries.lease.total_seconds() + 1)
    assert [d.event_id for d in await store.deliveries.claim_heads({"shop-1": 4})] == ["ev-2"]
    assert [d.event_id for d in await store.deliveries.claim(4)] == []
    assert await store.deliveries.mark_delivered(slow.id)  # its settle still lands


async def test_restart_with_the_same_owner_releases_its_leases_at_once(
    state_path: Path, source: OutboxSource, producer: Producer, clock: FakeClock
) -> None:
    producer.insert("order:a")
    async with open_store(state_path, owner="host-1", clock=clock) as first:
        await first.deliveries.ingest_from(source)
        assert len(await first.deliveries.claim(10)) == 1
    async with open_store(state_path, owner="host-1", clock=clock) as second:
        assert [d.event_id for d in await second.deliveries.claim(10)] == ["ev-1"]


async def test_release_and_defer_spend_no_attempt(
    store: Store, source: OutboxSource, producer: Producer, clock: FakeClock
) -> None:
    producer.insert("order:a", "order:b")
    await store.deliveries.ingest_from(source)
    _, b = await store.deliveries.claim(10)
    assert await store.deliveries.defer(b.id, clock() + dt.timedelta(seconds=5))
    assert await store.deliveries.release() == 1  # a: b is deferred, no longer leased
    assert [d.event_id for d in await store.deliveries.claim(10)] == ["ev-1"]
    clock.advance(5)
    (b_again,) = await store.deliveries.claim(10)
    assert (b_again.event_id, b_again.attempts) == ("ev-2", 0)
    assert await store.deliveries.mark_delivered(b_again.id)
    done = await store.deliveries.get(b_again.id)
    assert done is not None
    assert (done.state, done.attempts, done.delivered_at) == ("delivered", 1, clock())


async def test_claim_heads_takes_each_shops_free_slots_in_one_claim(
    store: Store, source: OutboxSource, producer: Producer
) -> None:
    producer.insert("order:a", "order:b", "order:c", shop="shop-1")
    producer.insert("order:d", "order:e", shop="shop-2")
    producer.insert("order:f", shop="shop-3")
    await store.deliveries.ingest_from(source)
    claimed = await store.deliveries.claim_heads({"shop-1": 2, "shop-2": 5, "shop-3": 0})
    assert [(d.shop_id, d.event_id) for d in claimed] == [
        ("shop-1", "ev-1"),
        ("shop-1", "ev-2"),
        ("shop-2", "ev-4"),
        ("shop-2", "ev-5"),
    ]
    assert all(d.state == "leased" and d.lease_owner == "test-owner" for d in claimed)
    assert [d.event_id for d in await store.deliveries.claim_heads({"shop-1": 2, "shop-3": 1})] == ["ev-3", "ev-6"]


async def test_claim_heads_stops_each_shop_at_its_open_reference_snapshot(
    store: Store, source: OutboxSource, producer: Producer
) -> None:
    producer.insert("order:a", "reference", "order:b", "order:c", shop="shop-1")
    producer.insert("order:d", shop="shop-2")
    await store.deliveries.ingest_from(source)
    claimed = await store.deliveries.claim_heads({"shop-1": 4, "shop-2": 4})
    assert [d.event_id for d in claimed] == ["ev-1", "ev-2", "ev-5"]  # ev-3 and ev-4 wait for the snapshot
    reference = next(d for d in claimed if d.aggregate_id == "reference")
    await store.deliveries.mark_failed(reference.id, "contract", "bad snapshot")
    assert await store.deliveries.claim_heads({"shop-1": 4}) == []  # a failed snapshot still holds them
    await store.db.write("UPDATE deliveries SET state = 'discarded' WHERE id = $1", (reference.id,))
    assert [d.event_id for d in await store.deliveries.claim_heads({"shop-1": 4})] == ["ev-3", "ev-4"]


async def test_claim_heads_takes_back_expired_leases_first(
    state_path: Path, source: OutboxSource, producer: Producer, clock: FakeClock
) -> None:
    producer.insert("order:a")
    lease = dt.timedelta(seconds=60)
    async with (
        open_store(state_path, owner="stalled", clock=clock, lease=lease) as stalled,
        open_store(state_path, owner="other", clock=clock, lease=lease) as alive,
    ):
        await stalled.deliveries.ingest_from(source)
        assert len(await stalled.deliveries.claim_heads({"shop-1": 4})) == 1
        assert await alive.deliveries.claim_heads({"shop-1": 4}) == []
        clock.advance(61)
        assert [(d.event_id, d.lease_owner) for d in await alive.deliveries.claim_heads({"shop-1": 4})] == [
            ("ev-1", "other")
        ]
