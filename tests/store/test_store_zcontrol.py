"""The Z control never cries wolf: a closing delivered while its day's payments are in flight logs nothing; once the
day is delivered a difference in payments or in the sales total is a mismatch, logged with what differs."""

from __future__ import annotations

import dataclasses

import structlog
from store_helpers import Producer
from test_store_closings import _closing, _deliver_all_but, _insert, _order, _payment

from outboxd.contract import RegisterClosed, parse_payload
from outboxd.delivery.zreport import warn_z_mismatch, z_report
from outboxd.outbox import OutboxSource
from outboxd.store import Store


def _z(sales: str, cash: str) -> RegisterClosed:
    payload = _closing("r1", 452)
    payload["sales_total_incl_tax"] = sales
    payload["receipts"] = [{"method_id": "cash", "expected": cash, "counted": cash}]
    closing = parse_payload("register.closed", payload)
    assert isinstance(closing, RegisterClosed)
    return closing


async def _warnings(store: Store, closing: RegisterClosed) -> list[dict[str, object]]:
    with structlog.testing.capture_logs() as logs:
        await warn_z_mismatch(store, "s1", closing, structlog.get_logger())
    return [log for log in logs if log["log_level"] == "warning"]


async def test_a_day_still_in_flight_is_not_a_mismatch_then_a_settled_one_is(
    store: Store, source: OutboxSource, producer: Producer
) -> None:
    _insert(producer, [
        ("s1", "order.recorded", "order:o-1", _order(1, "r1", "20.00")),
        ("s1", "payment.recorded", "order:o-1", _payment(1, "r1", "cash", "20.00")),
        ("s1", "order.recorded", "order:o-2", _order(2, "r1", "5.00")),
        ("s1", "payment.recorded", "order:o-2", _payment(2, "r1", "cash", "5.00")),
    ])  # fmt: skip
    await store.deliveries.ingest_from(source)
    [first, *_] = await store.deliveries.claim(1)
    await store.deliveries.mark_delivered(first.id)  # the rest is still pending or leased
    assert await _warnings(store, _z("25.00", "25.00")) == []

    await _deliver_all_but(store, source, left=set())
    assert await _warnings(store, _z("25.00", "25.00")) == []
    [warning] = await _warnings(store, _z("26.00", "25.00"))
    assert warning["event"] == "closing.z_mismatch"
    assert warning["differences"] == {"sales_total_incl_tax": "-1.00"}
    [warning] = await _warnings(store, _z("25.00", "24.00"))
    assert warning["differences"] == {"cash": "1.00"}


async def test_a_failed_ticket_of_the_day_keeps_the_check_open(
    store: Store, source: OutboxSource, producer: Producer
) -> None:
    _insert(producer, [
        ("s1", "order.recorded", "order:o-1", _order(1, "r1", "20.00")),
        ("s1", "order.recorded", "order:o-2", _order(2, "r1", "5.00")),
        ("s1", "order.recorded", "order:o-3", _order(3, "r2", "9.00")),  # another register's day: not waited for
    ])  # fmt: skip
    await _deliver_all_but(store, source, left={"ev-2"})
    report = await z_report(store, "s1", _z("25.00", "0.00"))
    assert (report.open, report.conclusive, report.mismatch) == (1, False, False)
    assert report.differences() == {"sales_total_incl_tax": "-5.00"}  # shown, not counted
    assert await _warnings(store, _z("25.00", "0.00")) == []
    r2 = dataclasses.replace(_z("9.00", "0.00"), register_id="r2")
    assert (await z_report(store, "s1", r2)).conclusive
    assert await _warnings(store, r2) == []
