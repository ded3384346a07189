"""What the dispatcher asks instead of walking every shop: the shops with new rows since an id, the shops with a head
due now (a retry not yet due, a held history, a leased or failed head are not), on both backends."""

from __future__ import annotations

import datetime as dt

from store_helpers import FakeClock, Producer

from outboxd.outbox import OutboxSource
from outboxd.store import Store
from outboxd.store.history import History


async def test_the_shops_after_an_id_are_those_with_new_rows(
    store: Store, source: OutboxSource, producer: Producer
) -> None:
    assert await store.deliveries.shops_after(0) == (set(), 0)
    producer.insert("order:a", shop="paris")
    producer.insert("order:b", shop="lyon")
    await store.deliveries.ingest_from(source)
    shops, seen = await store.deliveries.shops_after(0)
    assert (shops, seen) == ({"paris", "lyon"}, await store.deliveries.last_id())
    producer.insert("order:c", shop="lyon")
    await store.deliveries.ingest_from(source)
    assert await store.deliveries.shops_after(seen) == ({"lyon"}, seen + 1)


async def test_the_due_shops_are_those_with_a_head_to_claim_now(
    store: Store, source: OutboxSource, producer: Producer, clock: FakeClock
) -> None:
    for shop in ("live", "retry", "failed", "leased", "held", "quiet"):
        producer.insert("order:a", shop=shop)
    await store.deliveries.ingest_from(source)
    assert await store.deliveries.due_shops() == {"live", "retry", "failed", "leased", "held", "quiet"}
    (retry,) = await store.deliveries.claim(1, shops=["retry"])
    await store.deliveries.schedule_retry(retry.id, clock() + dt.timedelta(seconds=30), "RetryableError", "503")
    (failed,) = await store.deliveries.claim(1, shops=["failed"])
    await store.deliveries.mark_failed(failed.id, "BookingError", "no account")
    await store.deliveries.claim(1, shops=["leased"])
    (quiet,) = await store.deliveries.claim(1, shops=["quiet"])
    await store.deliveries.mark_delivered(quiet.id)
    await History(store.db, store.clock).first_connection("held", hold=True, through=10**6)
    await History(store.db, store.clock).hold_history("held", 10**6)
    assert await store.deliveries.due_shops() == {"live"}
    clock.advance(31)
    assert await store.deliveries.due_shops() == {"live", "retry"}


async def test_the_shops_with_a_lettering_due_now(store: Store, clock: FakeClock) -> None:
    letterings = store.letterings
    for shop in ("s1", "s2", "s3"):
        await store.db.write_many(letterings.line_statements(shop, "o-1", "T-1", 100, 1))
    assert await letterings.due_shops() == set()
    await letterings.mark("s1", "o-1", "due", at=clock() - dt.timedelta(seconds=1))
    await letterings.mark("s2", "o-1", "due", at=clock() + dt.timedelta(seconds=60))
    assert await letterings.due_shops() == {"s1"}
    clock.advance(61)
    assert await letterings.due_shops() == {"s1", "s2"}
