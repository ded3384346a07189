"""``book_day(events, mapping)``: a register's closed business day as one entry (the day's Z), for backfills. Pure.

Each event is booked by ``book`` exactly as in detailed mode, then the day's lines are gathered:
- customer lines stay one per ticket and per payment, with their own label, so every customer account (and the
  counter customer 411000) holds the same movements as in detailed mode and can still be lettered; but with
  ``customers = "on_account"`` (the default) or ``"none"``, a ticket settled within the day books no customer
  line at all (its lines and its payments' cancel out): only what a customer leaves owing reaches a 411 account;
- every other line (sales and VAT per rate, payment methods, the Z memo, cash differences) is summed per
  account and side into one line.
A payment of an order booked the same day credits the order's customer account directly. Past 1,000 lines
(Pennylane's limit per entry) the day is cut between events into parts, each balanced: ``J-2026-03-14-r1-1``,
``-2``... A single part is ``J-2026-03-14-r1``.

Besides the entries, the daemon is given what it needs from the day without booking anything again: the account
each ticket's later payments credit (``order_accounts``), and where each customer line is and whose order it
books (``customer_lines``), for lettering (docs/accounting.md, "Lettering").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from outboxd.contract.models import Event, OrderRecorded, RegisterClosed
from outboxd.exceptions import BookingError
from outboxd.rules.engine import book
from outboxd.rules.entries import (
    AccountRef,
    Booking,
    CustomerAccount,
    Entry,
    EntryLine,
    JournalSpec,
    LedgerAccount,
    OrderCustomerAccount,
)
from outboxd.rules.mapping import ShopMapping
from outboxd.rules.pieces import day_piece

__all__ = ["MAX_LINES", "CustomerLine", "DayBooking", "book_day", "day_piece"]

MAX_LINES = 1000
"""Pennylane's maximum number of lines in one ledger entry."""


@dataclass(frozen=True, slots=True)
class CustomerLine:
    """A customer-account line of a day's entry: the ticket or payment of ``order_id`` it books, found at ``index``
    in the lines of the entry ``piece_number``."""

    order_id: str
    piece_number: str
    index: int


@dataclass(frozen=True, slots=True)
class DayBooking(Booking):
    """A register-day's booking: its entries, plus ``order_accounts`` (each ticket of the day: the account its later
    payments credit) and ``customer_lines`` (every customer line of the entries, in their order)."""

    order_accounts: Mapping[str, AccountRef] = field(default_factory=dict)
    customer_lines: tuple[CustomerLine, ...] = ()


def _is_customer(account: AccountRef, mapping: ShopMapping) -> bool:
    if isinstance(account, CustomerAccount | OrderCustomerAccount):
        return True
    return account.number == mapping.counter_customer


class _Part:
    """The lines of one part being gathered: customer lines in event order (each with its order), the others summed
    per account+side."""

    def __init__(self) -> None:
        self.kept: list[tuple[str, EntryLine]] = []
        self.summed: dict[tuple[AccountRef, bool], int] = {}

    def size_with(self, lines: Sequence[EntryLine], mapping: ShopMapping) -> int:
        new_keys = {(ln.account, ln.debit > 0) for ln in lines if not _is_customer(ln.account, mapping)}
        kept = sum(1 for ln in lines if _is_customer(ln.account, mapping))
        return len(self.kept) + kept + len(self.summed.keys() | new_keys)

    def add(self, order_id: str | None, lines: Sequence[EntryLine], mapping: ShopMapping) -> None:
        for ln in lines:
            if _is_customer(ln.account, mapping):
                self.kept.append((order_id or "", ln))  # a customer line is a ticket's or a payment's
            else:
                key = (ln.account, ln.debit > 0)
                self.summed[key] = self.summed.get(key, 0) + ln.debit + ln.credit

    def lines(self, label: str) -> tuple[EntryLine, ...]:
        summed = [
            EntryLine(account, amount if debit else 0, 0 if debit else amount, label)
            for (account, debit), amount in self.summed.items()
            if amount
        ]
        return (*(line for _, line in self.kept), *summed)

    def customer_lines(self, piece_number: str) -> list[CustomerLine]:
        return [CustomerLine(order_id, piece_number, n) for n, (order_id, _) in enumerate(self.kept)]


def book_day(events: Sequence[Event], mapping: ShopMapping, *, max_lines: int = MAX_LINES) -> DayBooking:
    """The entries of one register's business day. ``events``: its orders, payments and closings, in order.

    Raises BookingError as ``book`` does (naming the event's own problem), or when the events are not all of one
    register, day and currency.
    """
    if not events:
        return DayBooking((), (), ())
    keys = {(_register(e), _day(e)) for e in events}
    if len(keys) != 1:
        raise BookingError("daily booking", f"events of several registers or days: {sorted(map(str, keys))}")
    register_id, day = keys.pop()
    numbers = {e.payload.order_id: e.payload.number for e in events if isinstance(e.payload, OrderRecorded)}
    bookings = [
        book(event, mapping, ticket_number=numbers.get(getattr(event.payload, "order_id", ""))) for event in events
    ]
    order_accounts: dict[str, AccountRef] = {}
    per_event: list[tuple[str | None, list[EntryLine]]] = []  # (order_id, lines) of each event with lines
    owed: dict[str, int] = {}  # order_id -> what its customer lines leave owing, for orders booked this day
    currencies = set()
    for event, booking in zip(events, bookings, strict=True):
        lines = [ln for entry in booking.entries for ln in entry.lines]
        currencies |= {entry.currency for entry in booking.entries}
        lines = [
            _replace(ln, order_accounts[ln.account.order_id])
            if isinstance(ln.account, OrderCustomerAccount) and ln.account.order_id in order_accounts
            else ln
            for ln in lines
        ]
        order_id = getattr(event.payload, "order_id", None)
        if isinstance(event.payload, OrderRecorded) and lines:
            order_accounts[event.payload.order_id] = next(
                ln.account for ln in lines if _is_customer(ln.account, mapping)
            )
            owed[event.payload.order_id] = 0
        if order_id in owed:
            owed[order_id] += sum(ln.debit - ln.credit for ln in lines if _is_customer(ln.account, mapping))
        if lines:
            per_event.append((order_id, lines))
    if mapping.customers != "all":  # a ticket settled within the day leaves nothing on a customer account
        settled = {order_id for order_id, left in owed.items() if not left}
        per_event = [
            (order_id, [ln for ln in lines if not _is_customer(ln.account, mapping)])
            if order_id in settled
            else (order_id, lines)
            for order_id, lines in per_event
        ]
    if len(currencies) > 1:
        raise BookingError(f"day {day} register {register_id}", f"several currencies {sorted(currencies)}")
    parts = [_Part()]
    for order_id, lines in per_event:
        if (parts[-1].kept or parts[-1].summed) and parts[-1].size_with(lines, mapping) > max_lines:
            parts.append(_Part())
        parts[-1].add(order_id, lines, mapping)
    label = _label(events, mapping, register_id, day)
    currency = currencies.pop() if currencies else "EUR"
    parts = [part for part in parts if part.kept or part.summed]
    pieces = [day_piece(mapping.piece_prefix, day, register_id, None if len(parts) == 1 else n)
              for n in range(1, len(parts) + 1)]  # fmt: skip
    entries = tuple(
        Entry(register_id, day, label if len(parts) == 1 else f"{label} ({n}/{len(parts)})", piece, currency,
              part.lines(label))
        for n, (part, piece) in enumerate(zip(parts, pieces, strict=True), 1)
    )  # fmt: skip
    customer_lines = tuple(
        line for part, piece in zip(parts, pieces, strict=True) for line in part.customer_lines(piece)
    )
    booked = {line.account for entry in entries for line in entry.lines}
    counter = mapping.catalogue.counter_customer  # a ticket settled within the day books no customer line
    remembered = {order_id: account if account in booked else counter for order_id, account in order_accounts.items()}
    journals: dict[str, JournalSpec] = {}
    accounts: dict[LedgerAccount, None] = {}
    for booking in bookings:
        journals.update({j.register_id: j for j in booking.journals})
        accounts.update(dict.fromkeys(booking.accounts))
    notes = tuple(note for booking in bookings for note in booking.notes)
    return DayBooking(entries, tuple(journals.values()), tuple(accounts), notes, remembered, customer_lines)


def _replace(line: EntryLine, account: AccountRef) -> EntryLine:
    return EntryLine(account, line.debit, line.credit, line.label)


def _register(event: Event) -> str:
    register = getattr(event.payload, "register_id", None)
    if not isinstance(register, str):
        raise BookingError(f"event {event.event_id}", "has no register: it cannot go into a day's entry")
    return register


def _day(event: Event) -> dt.date:
    day = getattr(event.payload, "business_date", None)
    if not isinstance(day, dt.date):
        raise BookingError(f"event {event.event_id}", "has no business date: it cannot go into a day's entry")
    return day


def _label(events: Sequence[Event], mapping: ShopMapping, register_id: str, day: dt.date) -> str:
    """``Journée du 14/03/2026 Caisse 1 Z452`` (the Z when the day was closed)."""
    name = mapping.registers.get(register_id) or register_id
    zs = [f"Z{e.payload.z_number}" for e in events if isinstance(e.payload, RegisterClosed)]
    return " ".join([f"Journée du {day:%d/%m/%Y}", name, *zs])
