"""Daily booking and ``customers``: a ticket settled within its day books no customer line (``on_account``), or
no customer of its own at all (``none``), and the books keep the same balances as with every customer (``all``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterator

import pytest

from outboxd.contract import Event, OrderRecorded, PaymentRecorded, ReferenceUpdated, parse_event
from outboxd.exceptions import ConfigError
from outboxd.rules import CustomerAccount, LedgerAccount, OrderCustomerAccount, ShopMapping, effective_mapping
from outboxd.rules.daily import book_day
from outboxd.rules.orders import customer_name
from outboxd.shop_simulator import simulate_shop

MODES = ("all", "on_account", "none")


def _register_days(days: int = 20) -> Iterator[tuple[ShopMapping, list[Event]]]:
    """The simulated register-days of a shop where a fifth of named customers buy on account."""
    rows = simulate_shop(
        "s1", days=days, orders_per_day=40, registers=2, seed=11, start=dt.date(2026, 3, 2), on_account=0.2
    )
    events = [parse_event(row) for row in rows]
    reference = events[0].payload
    assert isinstance(reference, ReferenceUpdated)
    mapping = effective_mapping(ShopMapping(), reference)
    key = lambda e: (e.payload.business_date, e.payload.register_id)  # type: ignore[union-attr]  # noqa: E731
    for _, day in itertools.groupby(sorted(events[1:], key=key), key=key):
        yield mapping, list(day)


def _net(entries_lines: list[tuple[object, int, int]]) -> Counter[str]:
    """Balance per account, every 411 (customers and the counter customer) as one; zero balances left out."""
    net: Counter[str] = Counter()
    for account, debit, credit in entries_lines:
        number = account.number if isinstance(account, LedgerAccount) else "411*"
        net["411*" if number.startswith("411") else number] += debit - credit
    return +net + -net  # drops zeros, keeps signs


def _lines(mapping: ShopMapping, events: list[Event], customers: str) -> list[tuple[object, int, int]]:
    booking = book_day(events, dataclasses.replace(mapping, customers=customers))  # type: ignore[arg-type]
    for entry in booking.entries:
        assert sum(ln.debit for ln in entry.lines) == sum(ln.credit for ln in entry.lines)
    return [(ln.account, ln.debit, ln.credit) for entry in booking.entries for ln in entry.lines]


def test_every_mode_keeps_the_same_balances() -> None:
    for mapping, events in _register_days():
        balances = {mode: _net(_lines(mapping, events, mode)) for mode in MODES}
        assert balances["on_account"] == balances["all"]
        assert balances["none"] == balances["all"]


def test_on_account_books_only_what_customers_leave_owing() -> None:
    seen_owing = seen_later_payment = 0
    for mapping, events in _register_days():
        owing: dict[str, int] = {}
        named: dict[str, str] = {}
        for event in events:
            if isinstance(event.payload, OrderRecorded):
                owing[event.payload.order_id] = event.payload.total_incl_tax
                if event.payload.customer is not None:
                    named[event.payload.order_id] = event.payload.customer.id
            elif isinstance(event.payload, PaymentRecorded) and event.payload.order_id in owing:
                owing[event.payload.order_id] -= event.payload.amount
        expected = Counter(named[order_id] for order_id, left in owing.items() if left and order_id in named)
        later = sum(1 for e in events if isinstance(e.payload, PaymentRecorded) and e.payload.order_id not in owing)
        lines = _lines(mapping, events, "on_account")
        customers = Counter(a.customer.id for a, *_ in lines if isinstance(a, CustomerAccount))
        assert customers == expected
        assert sum(1 for a, *_ in lines if isinstance(a, OrderCustomerAccount)) == later
        counter = [a for a, *_ in lines if isinstance(a, LedgerAccount) and a.number == mapping.counter_customer]
        assert counter == []  # anonymous tickets are always paid at the counter in this shop
        seen_owing += sum(expected.values())
        seen_later_payment += later
    assert seen_owing
    assert seen_later_payment


def test_none_books_no_customer_of_its_own_and_no_name() -> None:
    names: defaultdict[str, set[str]] = defaultdict(set)
    for mapping, events in _register_days(days=10):
        for event in events:
            if isinstance(event.payload, OrderRecorded) and event.payload.customer is not None:
                names[event.payload.register_id].add(customer_name(event.payload.customer))
        booking = book_day(events, dataclasses.replace(mapping, customers="none"))
        lines = [ln for entry in booking.entries for ln in entry.lines]
        assert not any(isinstance(ln.account, CustomerAccount) for ln in lines)
        assert not any(name in ln.label for ln in lines for name in names[events[0].payload.register_id])  # type: ignore[union-attr]


def test_all_keeps_one_customer_line_per_ticket_and_payment() -> None:
    mapping, events = next(_register_days(days=1))
    lines = _lines(mapping, events, "all")
    tickets = sum(1 for e in events if isinstance(e.payload, OrderRecorded) and e.payload.total_incl_tax)
    payments = sum(1 for e in events if isinstance(e.payload, PaymentRecorded))
    customer_lines = [
        a
        for a, *_ in lines
        if isinstance(a, CustomerAccount) or (isinstance(a, LedgerAccount) and a.number == mapping.counter_customer)
    ]
    assert len(customer_lines) == tickets + payments


def test_the_mode_is_read_from_the_configuration_and_checked() -> None:
    assert ShopMapping().customers == "on_account"
    assert ShopMapping.from_dict({"customers": "none"}).customers == "none"
    with pytest.raises(ConfigError, match=r"mapping\.customers"):
        ShopMapping.from_dict({"customers": "some"})
