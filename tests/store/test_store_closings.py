"""The Z control's inputs: delivered closings of a shop; one register's day: payments per method, tickets, open."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

from store_helpers import Producer, sqlite_only

from outboxd.outbox import INSERT_SQL, OutboxSource
from outboxd.store import Store
from outboxd.store.closings import _CLOSINGS, _DAY

DAY = dt.date(2026, 3, 14)


def _payment(n: int, register: str, method: str, amount: str, day: dt.date = DAY) -> dict[str, Any]:
    return {"payment_id": f"p-{n}", "order_id": f"o-{n}", "register_id": register, "business_date": day.isoformat(),
            "method_id": method, "amount": amount, "currency": "EUR"}  # fmt: skip


def _closing(register: str, z: int, day: dt.date = DAY) -> dict[str, Any]:
    return {"closing_id": f"z-{register}-{z}", "register_id": register, "z_number": z,
            "business_date": day.isoformat(), "opened_at": f"{day}T08:58:00+01:00",
            "closed_at": f"{day}T19:31:00+01:00", "sales_total_incl_tax": "10.00",
            "receipts": [{"method_id": "cash", "expected": "10.00", "counted": "10.00"}]}  # fmt: skip


def _insert(producer: Producer, rows: list[tuple[str, str, str, dict[str, Any]]]) -> None:
    """(shop, event_type, aggregate_id, payload) rows, in order."""
    with producer.conn:
        for shop, event_type, aggregate, payload in rows:
            producer.count += 1
            producer.conn.execute(INSERT_SQL, (f"ev-{producer.count}", shop, event_type, aggregate,
                                               "2026-03-14T18:02:11+01:00", json.dumps(payload)))  # fmt: skip


async def _deliver_all_but(store: Store, source: OutboxSource, *, left: set[str]) -> None:
    """Ingest, then mark every claimed row delivered except the event ids in ``left`` (failed instead)."""
    await store.deliveries.ingest_from(source)
    while claimed := await store.deliveries.claim(100):
        for delivery in claimed:
            if delivery.event_id in left:
                await store.deliveries.mark_failed(delivery.id, "booking", "not this one", None)
            else:
                await store.deliveries.mark_delivered(delivery.id)


def _order(n: int, register: str, total: str) -> dict[str, Any]:
    return {"order_id": f"o-{n}", "number": f"T-{n}", "register_id": register, "business_date": DAY.isoformat(),
            "customer": None, "lines": [{"label": "x", "quantity": "1", "total_incl_tax": total, "vat_rate": "20",
                                         "kind": "goods", "chapter": None}], "total_incl_tax": total}  # fmt: skip


async def test_payments_per_method_of_one_register_and_day(
    store: Store, source: OutboxSource, producer: Producer
) -> None:
    _insert(producer, [
        ("s1", "payment.recorded", "order:o-1", _payment(1, "r1", "cash", "20.08")),
        ("s1", "payment.recorded", "order:o-2", _payment(2, "r1", "cash", "12.5")),
        ("s1", "payment.recorded", "order:o-3", _payment(3, "r1", "cb", "30.00")),
        ("s1", "payment.recorded", "order:o-4", _payment(4, "r1", "cb", "-5.01")),  # a refund
        ("s1", "payment.recorded", "order:o-5", _payment(5, "r2", "cash", "7.00")),  # another register
        ("s1", "payment.recorded", "order:o-6", _payment(6, "r1", "cash", "1.00", DAY + dt.timedelta(days=1))),
        ("s2", "payment.recorded", "order:o-7", _payment(7, "r1", "cash", "3.00")),  # another shop
        ("s1", "payment.recorded", "order:o-8", _payment(8, "r1", "cash", "100.00")),  # failed: not delivered
    ])  # fmt: skip
    await _deliver_all_but(store, source, left={"ev-8"})
    assert (await store.closings.register_day("s1", "r1", DAY)).payments == {"cash": 3258, "cb": 2499}
    assert (await store.closings.register_day("s1", "r2", DAY)).payments == {"cash": 700}
    assert (await store.closings.register_day("s1", "r3", DAY)).payments == {}


async def test_a_register_day_adds_its_tickets_and_counts_what_is_still_open(
    store: Store, source: OutboxSource, producer: Producer
) -> None:
    _insert(producer, [
        ("s1", "order.recorded", "order:o-1", _order(1, "r1", "20.08")),
        ("s1", "order.recorded", "order:o-2", _order(2, "r1", "-5.00")),  # a credit note
        ("s1", "order.recorded", "order:o-3", _order(3, "r2", "7.00")),  # another register
        ("s1", "order.recorded", "order:o-4", _order(4, "r1", "9.99")),  # failed: open, waiting for the operator
    ])  # fmt: skip
    await _deliver_all_but(store, source, left={"ev-4"})
    r1 = await store.closings.register_day("s1", "r1", DAY)
    assert (r1.sales, r1.open) == (1508, 1)
    r2 = await store.closings.register_day("s1", "r2", DAY)
    assert (r2.sales, r2.open) == (700, 0)
    _insert(producer, [("s1", "order.recorded", "order:o-5", _order(5, "r2", "1.00"))])
    await store.deliveries.ingest_from(source)  # pending: the day is not over for r2
    assert (await store.closings.register_day("s1", "r2", DAY)).open == 1


async def test_delivered_closings_since_a_day_newest_first(
    store: Store, source: OutboxSource, producer: Producer
) -> None:
    before = DAY - dt.timedelta(days=1)
    _insert(producer, [
        ("s1", "register.closed", "register:r1", _closing("r1", 451, before)),
        ("s1", "register.closed", "register:r1", _closing("r1", 452)),
        ("s1", "register.closed", "register:r2", _closing("r2", 17)),
        ("s1", "register.closed", "register:r3", _closing("r3", 9)),  # failed: not delivered
        ("s2", "register.closed", "register:r1", _closing("r1", 1)),  # another shop
        ("s1", "payment.recorded", "order:o-1", _payment(1, "r1", "cash", "10.00")),
    ])  # fmt: skip
    await _deliver_all_but(store, source, left={"ev-4"})
    closings = await store.closings.delivered("s1", DAY)
    assert [(c.register_id, c.business_date, c.z_number) for c in closings] == [("r2", DAY, 17), ("r1", DAY, 452)]
    assert json.loads(closings[1].payload)["closing_id"] == "z-r1-452"
    assert [c.z_number for c in await store.closings.delivered("s1", before)] == [17, 452, 451]


@sqlite_only
async def test_both_reads_use_the_day_index(store: Store, state_path: Path) -> None:
    conn = sqlite3.connect(state_path)
    try:
        for sql in (_DAY, _CLOSINGS):
            plan = " ".join(str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", ("s", "2026-03-14")))
            assert "USING INDEX deliveries_by_day" in plan, plan
    finally:
        conn.close()
