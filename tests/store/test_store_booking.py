"""Booking modes in the state database, on both backends: ingestion holds a daily register-day's events for its
closing (never history, never a register-day already touched in detailed mode), a day's events are fixed before
its entry is sent (later ones go live), and a switch is stored with its actor and reason."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from pathlib import Path
from typing import Any

from bridge_setup import insert_outbox
from store_helpers import FakeClock

from outboxd.outbox import OutboxSource
from outboxd.shop_simulator import simulate_shop
from outboxd.store import Store
from outboxd.store.history import History

SHOP = "s1"
DAYS = ("2026-03-02", "2026-03-03", "2026-03-04")


def rows_of(rows: list[dict[str, Any]], day: str, register: str | None = None) -> list[dict[str, Any]]:
    return [r for r in rows if r["payload"].get("business_date") == day
            and register in (None, r["payload"].get("register_id"))]  # fmt: skip


async def ingest(store: Store, source: OutboxSource, outbox: Path, rows: list[dict[str, Any]]) -> None:
    insert_outbox(outbox, rows)
    while await store.deliveries.ingest_from(source):
        pass


async def priorities(store: Store, day: str, register: str) -> set[int]:
    reg = store.db.dialect.json_field("payload", "register_id")
    found = await store.db.read(
        f"SELECT DISTINCT priority FROM deliveries WHERE business_date = $1 AND {reg} = $2",  # noqa: S608 (constant)
        (day, register),
    )
    return {int(r[0]) for r in found}


async def test_register_days_decided_once_held_fixed_and_settled(
    store: Store, source: OutboxSource, outbox_path: Path, clock: FakeClock
) -> None:
    rows = list(simulate_shop(SHOP, days=3, orders_per_day=6, registers=2, seed=3, start=dt.date(2026, 3, 2)))
    await ingest(store, source, outbox_path, rows[:1] + rows_of(rows, DAYS[0]))  # before the shop is connected
    await History(store.db, clock).first_connection(SHOP, hold=False, through=0)
    day2_r1 = rows_of(rows, DAYS[1], "r1")
    await ingest(store, source, outbox_path, day2_r1[:2])
    await store.db.write(
        "UPDATE deliveries SET state = 'delivered', delivered_at = updated_at WHERE event_id = $1",
        (day2_r1[0]["event_id"],),
    )

    moved = await store.booking.switch(SHOP, "daily", DAYS[1], "ops", "one entry per Z")
    assert moved == 0  # day 1 stays detailed (before the date), day 2 r1 was touched in detailed mode
    await ingest(store, source, outbox_path, rows_of(rows, DAYS[1]) + rows_of(rows, DAYS[2]))
    assert await priorities(store, DAYS[0], "r1") == {0}
    assert await priorities(store, DAYS[1], "r1") == {0}
    assert await priorities(store, DAYS[1], "r2") == {5}
    assert await priorities(store, DAYS[2], "r1") == {5}
    ready = [(SHOP, DAYS[1], "r2"), (SHOP, DAYS[2], "r1"), (SHOP, DAYS[2], "r2")]
    assert await store.register_days.ready_days() == ready

    fixed = await store.register_days.day_rows(SHOP, DAYS[2], "r1")
    assert [d.event_id for d in fixed] == [r["event_id"] for r in rows_of(rows, DAYS[2], "r1")]
    late = copy.deepcopy(rows_of(rows, DAYS[2], "r1")[0])
    late["event_id"], late["aggregate_id"] = "late-1", "order:late-1"
    late["payload"]["order_id"], late["payload"]["number"] = "late-1", "T-LATE"
    await ingest(store, source, outbox_path, [late])
    assert [d.event_id for d in await store.register_days.day_rows(SHOP, DAYS[2], "r1")] == [d.event_id for d in fixed]
    assert await store.register_days.deliver_day(d.id for d in fixed) == len(fixed)
    assert await priorities(store, DAYS[2], "r1") == {0, 5}  # the delivered ones and the late one, live
    late_row = await store.db.read_one("SELECT state, priority FROM deliveries WHERE event_id = 'late-1'")
    assert late_row is not None
    assert (late_row[0], late_row[1]) == ("pending", 0)

    # an ingestion that held an event of a day settled meanwhile (PostgreSQL's concurrent transactions): set free
    await store.db.write("UPDATE deliveries SET priority = 5 WHERE event_id = 'late-1'")
    assert await store.register_days.release_strays() == 1
    assert await store.register_days.release_strays() == 0
    assert await priorities(store, DAYS[2], "r1") == {0, 5}

    day3_r2 = await store.register_days.day_rows(SHOP, DAYS[2], "r2")
    assert await store.register_days.to_detailed(d.id for d in day3_r2) == len(day3_r2)
    assert await priorities(store, DAYS[2], "r2") == {0}
    assert await store.register_days.waiting() == {SHOP: len(rows_of(rows, DAYS[1], "r2"))}

    back = await store.booking.switch(SHOP, "detailed", DAYS[1], "ops", "back to one entry per ticket")
    assert back == len(rows_of(rows, DAYS[1], "r2"))  # day 2 r2 was waiting, nothing of it sent
    assert await store.register_days.waiting() == {}
    switches = await store.booking.switches(SHOP)
    assert [(s.from_date, s.mode, s.actor) for s in switches] == [(DAYS[1], "detailed", "ops")]
    audit = await store.audit.list(shop_id=SHOP)
    assert [a.action for a in audit] == ["booking.switch", "booking.switch"]
    assert '"reason": "back to one entry per ticket"' in audit[0].detail


async def test_the_configuration_mode_is_written_once_whichever_replica_starts_first(store: Store) -> None:
    written = await asyncio.gather(*(store.booking.write_initial(SHOP, "daily") for _ in range(3)))
    assert sorted(written) == [False, False, True]
    assert not await store.booking.write_initial(SHOP, "detailed")
    (switch,) = await store.booking.switches(SHOP)
    assert (switch.mode, switch.actor) == ("daily", "configuration")
    assert await store.audit.list(shop_id=SHOP) == []  # no operator acted


async def test_a_switch_again_on_the_same_date_replaces_it(store: Store) -> None:
    await store.booking.switch(SHOP, "daily", DAYS[1], "ops", "first")
    await store.booking.switch(SHOP, "detailed", DAYS[2], "ops", "later")
    await store.booking.switch(SHOP, "detailed", DAYS[1], "ops", "changed my mind")
    assert [(s.from_date, s.mode, s.reason) for s in await store.booking.switches(SHOP)] == [
        (DAYS[1], "detailed", "changed my mind")
    ]
