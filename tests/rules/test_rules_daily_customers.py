"""Daily booking and ``customers``: a ticket settled within its day books no customer line (``on_account``), or
no customer of its own at all (``none``), and the books keep the same balances as with every customer (``all``).
Besides its entries, a day's booking says where each customer line is and whose order it books (for lettering), and
the account each ticket's later payments credit, as booking the ticket alone gives it (nothing is booked twice)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterator

import pytest

from outboxd.contract import Event, OrderRecorded, PaymentRecorded, ReferenceUpdated, parse_event
from outboxd.exceptions import ConfigError
from outboxd.rules import (
    CustomerAccount,
    LedgerAccount,
    OrderCustomerAccount,
    ShopMapping,
    book,
    effective_mapping,
)
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


def test_customer_lines_name_each_line_of_a_customer_account_and_its_order() -> None:
    parts = seen = 0
    for mapping, events in _register_days(days=6):
        numbers = {e.payload.order_id: e.payload.number for e in events if isinstance(e.payload, OrderRecorded)}
        for customers in MODES:
            shop = dataclasses.replace(mapping, customers=customers)  # type: ignore[arg-type]
            booking = book_day(events, shop, max_lines=40)  # parts too
            entries = {entry.piece_number: entry for entry in booking.entries}
            on_customers = [(entry.piece_number, n) for entry in booking.entries
                            for n, line in enumerate(entry.lines) if _on_customer(line.account, shop)]  # fmt: skip
            assert [(at.piece_number, at.index) for at in booking.customer_lines] == on_customers
            for at in booking.customer_lines:  # the line's label names its order
                label, number = entries[at.piece_number].lines[at.index].label, numbers.get(at.order_id)
                names = label.split(" ")[1] == number or label.endswith((f"ticket {number}", f"commande {at.order_id}"))
                assert names, (label, at)
            parts += len(booking.entries) > 1
            seen += len(booking.customer_lines)
    assert seen
    assert parts


def test_order_accounts_are_those_the_ticket_alone_books_on_unless_its_lines_were_left_out() -> None:
    for mapping, events in _register_days(days=6):
        for customers in MODES:
            shop = dataclasses.replace(mapping, customers=customers)  # type: ignore[arg-type]
            booking = book_day(events, shop)
            booked = {line.account for entry in booking.entries for line in entry.lines}
            expected = {}
            for event in events:
                if isinstance(event.payload, OrderRecorded) and (alone := book(event, shop).entries):
                    account = alone[0].lines[0].account  # a ticket's entry: its customer line first
                    expected[event.payload.order_id] = account if account in booked else shop.catalogue.counter_customer
            assert booking.order_accounts == expected


def _on_customer(account: object, mapping: ShopMapping) -> bool:
    if isinstance(account, CustomerAccount | OrderCustomerAccount):
        return True
    return isinstance(account, LedgerAccount) and account.number == mapping.counter_customer


def test_the_mode_is_read_from_the_configuration_and_checked() -> None:
    assert ShopMapping().customers == "on_account"
    assert ShopMapping.from_dict({"customers": "none"}).customers == "none"
    with pytest.raises(ConfigError, match=r"mapping\.customers"):
        ShopMapping.from_dict({"customers": "some"})
