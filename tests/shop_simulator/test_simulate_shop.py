"""simulate_shop: deterministic, ordered, consistent rows that always follow the contract."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter, defaultdict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outboxd.contract import OrderRecorded, PaymentRecorded, RegisterClosed, parse_event
from outboxd.shop_simulator import simulate_shop
from outboxd.shop_simulator.shop import paris_offset


def _run(seed: int = 7, days: int = 3, orders: int = 200, registers: int = 2,
         start: dt.date = dt.date(2026, 3, 2), on_account: float = 0.0) -> list[dict[str, Any]]:
    return list(simulate_shop("shop-t", days=days, orders_per_day=orders, registers=registers, seed=seed, start=start,
                              on_account=on_account))


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    assert _run(seed=3) == _run(seed=3)
    assert _run(seed=3) != _run(seed=4)
    assert len({r["event_id"] for r in _run()}) == len(_run())


def test_reference_first_then_days_with_increasing_times() -> None:
    rows = _run()
    assert rows[0]["event_type"] == "reference.updated"
    assert rows[0]["aggregate_id"] == "reference"
    times = [parse_event(r).occurred_at for r in rows]
    assert all(a < b for a, b in itertools.pairwise(times))
    closings = [r for r in rows if r["event_type"] == "register.closed"]
    assert len(closings) == 3 * 2
    assert rows[-2:] == closings[-2:]


def test_payments_follow_their_order_and_settle_it() -> None:
    totals: dict[str, int] = {}
    paid: Counter[str] = Counter()
    for event in map(parse_event, _run()):
        if isinstance(event.payload, OrderRecorded):
            totals[event.payload.order_id] = event.payload.total_incl_tax
        elif isinstance(event.payload, PaymentRecorded):
            assert event.payload.order_id in totals  # the order came first, same aggregate
            assert event.aggregate_id == f"order:{event.payload.order_id}"
            paid[event.payload.order_id] += event.payload.amount
    assert paid == Counter(totals)


def test_tickets_on_account_are_paid_by_transfer_days_later_or_stay_open() -> None:
    orders: dict[str, tuple[dt.date, int, bool]] = {}
    paid: dict[str, list[tuple[dt.date, str, int]]] = defaultdict(list)
    for event in map(parse_event, _run(days=30, orders=100, on_account=0.2)):
        if isinstance(event.payload, OrderRecorded):
            order = event.payload
            orders[order.order_id] = (order.business_date, order.total_incl_tax, order.customer is not None)
        elif isinstance(event.payload, PaymentRecorded):
            payment = event.payload
            paid[payment.order_id].append((payment.business_date, payment.method_id, payment.amount))
    later = {o for o, payments in paid.items() if payments[0][0] > orders[o][0]}
    open_ = set(orders) - set(paid)
    assert later
    assert open_
    for order_id in later:
        day, total, named = orders[order_id]
        assert named
        assert paid[order_id] == [(paid[order_id][0][0], "vir", total)]
        assert 1 <= (paid[order_id][0][0] - day).days <= 14
    assert all(orders[o][2] and orders[o][0] > dt.date(2026, 3, 31) - dt.timedelta(days=14) for o in open_)
    assert all(sum(p[2] for p in paid[o]) == orders[o][1] for o in paid)


@pytest.mark.parametrize("on_account", [0.0, 0.2])
def test_closing_receipts_are_the_registers_payments_of_the_day(on_account: float) -> None:
    expected: dict[tuple[str, dt.date], Counter[str]] = defaultdict(Counter)
    sales: Counter[tuple[str, dt.date]] = Counter()
    differences = 0
    for event in map(parse_event, _run(days=10, on_account=on_account)):
        payload = event.payload
        if isinstance(payload, OrderRecorded):
            sales[payload.register_id, payload.business_date] += payload.total_incl_tax
        elif isinstance(payload, PaymentRecorded):
            expected[payload.register_id, payload.business_date][payload.method_id] += payload.amount
        elif isinstance(payload, RegisterClosed):
            key = (payload.register_id, payload.business_date)
            assert {r.method_id: r.expected for r in payload.receipts} == dict(expected[key])
            assert payload.sales_total_incl_tax == sales[key]
            for receipt in payload.receipts:
                if receipt.counted != receipt.expected:
                    assert receipt.method_id == "cash"
                    differences += 1
    assert differences >= 1


def test_the_mix_of_tickets_looks_like_a_shop() -> None:
    orders = [e.payload for e in map(parse_event, _run(days=10, orders=300))
              if isinstance(e.payload, OrderRecorded)]
    share = len(orders) / 100

    def percent(condition: Any) -> float:
        return sum(1 for o in orders if condition(o)) / share

    assert 6 <= percent(lambda o: o.discounts) <= 14
    assert 1 <= percent(lambda o: o.total_incl_tax < 0) <= 4
    assert 60 <= percent(lambda o: o.customer is None) <= 80
    assert percent(lambda o: len({line.vat_rate for line in o.lines}) > 1) >= 20
    customers = Counter(o.customer.id for o in orders if o.customer is not None)
    assert max(customers.values()) > 1  # known customers come back
    kinds = {o.customer.type for o in orders if o.customer is not None}
    assert kinds == {"individual", "company"}


def test_paris_offset_follows_summer_time() -> None:
    assert paris_offset(dt.date(2026, 3, 28)) == "+01:00"
    assert paris_offset(dt.date(2026, 3, 29)) == "+02:00"
    assert paris_offset(dt.date(2026, 10, 24)) == "+02:00"
    assert paris_offset(dt.date(2026, 10, 25)) == "+01:00"


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32), days=st.integers(0, 3), orders=st.integers(0, 40), registers=st.integers(1, 4),
       start=st.dates(dt.date(2020, 1, 1), dt.date(2035, 12, 31)))
def test_simulated_rows_always_parse(seed: int, days: int, orders: int, registers: int, start: dt.date) -> None:
    rows = _run(seed=seed, days=days, orders=orders, registers=registers, start=start)
    assert len(rows) >= 1 + days * (orders * 2 + registers) // 2
    for simulated in rows:
        parse_event(simulated)
