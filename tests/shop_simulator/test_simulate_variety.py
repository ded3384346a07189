"""simulate_shop(variety=True): the cases contract 1.1 must book (a discount tie broken the POS's way, a discount on
one line, gift cards sold then spent, chapters at two rates), each printed as a real POS prints it; and without
variety, a seed's events exactly as they always were (other tests and the benchmarks rely on them)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from fractions import Fraction
from typing import Any

import pytest
from books import expected_books
from hypothesis import given, settings
from hypothesis import strategies as st
from independent_books import trial_balance_from_events
from simulated_cases import CASES, simulated_cases

from outboxd.contract import OrderRecorded, PaymentRecorded, parse_event
from outboxd.money import spread_discount
from outboxd.rules import ShopMapping
from outboxd.shop_simulator import simulate_shop

START = dt.date(2026, 1, 5)


def _run(seed: int = 1, days: int = 30, orders: int = 8, on_account: float = 0.25,
         variety: bool = True) -> list[dict[str, Any]]:  # fmt: skip
    return list(simulate_shop("shop-v", days=days, orders_per_day=orders, registers=2, seed=seed, start=START,
                              on_account=on_account, variety=variety))  # fmt: skip


def _orders(rows: list[dict[str, Any]]) -> list[OrderRecorded]:
    return [e.payload for e in map(parse_event, rows) if isinstance(e.payload, OrderRecorded)]


def _printed_shares(order: OrderRecorded) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """(gross per rate, the contract's spread of the discounts, the discount the printed breakdown gave each rate)."""
    assert order.vat_breakdown is not None
    gross: Counter[int] = Counter()
    for line in order.lines:
        gross[line.vat_rate] += line.total_incl_tax
    discount = sum(d.amount_incl_tax for d in order.discounts)
    printed = {row.rate: row.base + row.vat for row in order.vat_breakdown}
    return dict(gross), spread_discount(dict(gross), discount), {r: g - printed[r] for r, g in gross.items()}


@pytest.mark.parametrize(("on_account", "digest"), [
    (0.0, "dc72e223402edffb7fdc5887a7e7c78df58a600b52299cee619061656df80d6b"),
    (0.2, "491e9eeab7901c92dcd54799fc3c5f9d91e5786646572a4c7984c0dc48b923b9"),
])  # fmt: skip
def test_without_variety_a_seeds_events_are_as_they_always_were(on_account: float, digest: str) -> None:
    rows = list(simulate_shop("shop-t", days=5, orders_per_day=60, registers=2, seed=7, start=dt.date(2026, 3, 2),
                              on_account=on_account))  # fmt: skip
    assert hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest() == digest


@pytest.mark.parametrize("seed", [0, 1])
def test_a_month_with_variety_holds_every_case_several_times(seed: int) -> None:
    cases = simulated_cases(_run(seed=seed))
    assert {case: cases[case] for case in CASES if cases[case] < 3} == {}
    plain = simulated_cases(_run(seed=seed, variety=False))
    assert plain["discount_tie"] == plain["line_discount"] == plain["gift_card_sold"] == 0


def test_a_tie_gives_the_last_cent_to_the_rate_the_bridge_would_not_have_chosen() -> None:
    ties = 0
    for order in _orders(_run()):
        if not order.discounts or order.discounts[0].label != "Remise commerciale":
            continue
        gross, spread, printed = _printed_shares(order)
        total, discount = sum(gross.values()), order.discounts[0].amount_incl_tax
        assert len(gross) == 2
        assert {Fraction(discount * amount, total) % 1 for amount in gross.values()} == {Fraction(1, 2)}
        assert sorted(printed[rate] - spread[rate] for rate in gross) == [-1, 1]
        ties += 1
    assert ties >= 3


def test_a_one_line_discount_is_printed_on_that_lines_rate_only() -> None:
    seen = 0
    for order in _orders(_run()):
        label = order.discounts[0].label if order.discounts else ""
        discounted = [line for line in order.lines if label.startswith("Remise") and label.endswith(f"% {line.label}")]
        if not discounted:
            continue  # a plain ticket's percentage discount, spread by gross
        gross, _, printed = _printed_shares(order)
        assert len(gross) > 1
        rate = discounted[0].vat_rate
        assert printed == {r: order.discounts[0].amount_incl_tax if r == rate else 0 for r in gross}
        seen += 1
    assert seen >= 3


def test_gift_cards_are_sold_at_0_percent_then_spent_on_later_days_never_beyond_what_was_sold() -> None:
    rows = _run(seed=2)
    (reference,) = [r["payload"] for r in rows if r["event_type"] == "reference.updated"]
    assert {"id": "kdo", "label": "Carte cadeau", "kind": "gift_card"} in reference["payment_methods"]
    sold: list[tuple[dt.date, int]] = []
    spent = 0
    orders: dict[str, OrderRecorded] = {}
    for event in map(parse_event, rows):
        payload = event.payload
        if isinstance(payload, OrderRecorded):
            orders[payload.order_id] = payload
            for line in payload.lines:
                if line.kind == "gift_card":
                    assert (line.vat_rate, line.chapter) == (0, None)
                    sold.append((payload.business_date, line.total_incl_tax))
            if any(line.kind == "gift_card" for line in payload.lines):
                assert payload.vat_breakdown is not None
                assert any(row.rate == 0 and row.vat == 0 for row in payload.vat_breakdown)
        elif isinstance(payload, PaymentRecorded) and payload.method_id == "kdo":
            assert not any(line.kind == "gift_card" for line in orders[payload.order_id].lines)
            spent += payload.amount
            assert 0 < spent <= sum(value for day, value in sold if day < payload.business_date)
    assert len(sold) >= 3
    assert spent > 0


def test_chapters_sell_at_two_rates() -> None:
    rates: dict[str, set[int]] = {}
    for order in _orders(_run()):
        for line in order.lines:
            if line.chapter:
                rates.setdefault(line.chapter, set()).add(line.vat_rate)
    assert rates == {"textile": {200}, "restauration": {100, 55}, "epicerie": {55, 200}}


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), days=st.integers(1, 6), orders=st.integers(1, 30),
       on_account=st.sampled_from([0.0, 0.3]))
def test_the_rules_engine_books_every_variety_ticket_as_an_independent_reading_of_the_figures(
    seed: int, days: int, orders: int, on_account: float
) -> None:
    """Every row follows the contract, and the engine's books (a BookingError would fail here) leave the trial
    balance computed from the printed figures without the engine."""
    rows = _run(seed=seed, days=days, orders=orders, on_account=on_account)
    for row in rows:
        parse_event(row)
    assert expected_books(rows, ShopMapping(), "shop-v").balance == trial_balance_from_events(rows)
