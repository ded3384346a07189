"""What the rules engine hands to the daemon: entries whose lines point at accounts, plus what must exist first.

Amounts are integer cents, never negative: a negative amount has already been turned into the other side.
Accounts are references, not Pennylane ids: the daemon resolves them (find or create) and then sends the entry
as Pennylane's request (``outboxd.delivery.deliver.ledger_entry``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from outboxd.contract.models import Customer

__all__ = [
    "AccountRef",
    "Booking",
    "CustomerAccount",
    "Entry",
    "EntryLine",
    "JournalSpec",
    "LedgerAccount",
    "OrderCustomerAccount",
    "customer_reference",
]


@dataclass(frozen=True, slots=True)
class LedgerAccount:
    """A general-ledger account; ``vat_rate`` is Pennylane's code (``FR_200``, ``exempt``...) or None."""

    number: str
    label: str
    vat_rate: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerAccount:
    """A known customer's own 411 account: the daemon finds it by ``external_reference`` or creates it."""

    external_reference: str
    customer: Customer


def customer_reference(shop_id: str, customer_id: str = "") -> str:
    """A customer's ``external_reference`` in Pennylane; with no ``customer_id``, what every one of the shop's
    begins with."""
    return f"kashclick:{shop_id}:{customer_id}"


@dataclass(frozen=True, slots=True)
class OrderCustomerAccount:
    """Whatever customer account the order ``order_id`` was booked on (the daemon remembers it)."""

    order_id: str


AccountRef = LedgerAccount | CustomerAccount | OrderCustomerAccount


@dataclass(frozen=True, slots=True)
class EntryLine:
    """One side of one amount: ``debit`` or ``credit`` is non-zero, the other is 0, both in cents.

    The entry holding the line checks this (``Entry.check_balanced``), once per entry rather than per line.
    """

    account: AccountRef
    debit: int
    credit: int
    label: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One Pennylane ledger entry, in the journal of ``register_id``."""

    register_id: str
    date: dt.date
    label: str
    piece_number: str
    currency: str
    lines: tuple[EntryLine, ...]

    def __post_init__(self) -> None:
        self.check_balanced()

    def check_balanced(self) -> None:
        """Every entry balances, on lines of one non-negative side each, before it leaves the engine.

        Anything else is a bug in the engine, hence assertions.
        """
        debit = credit = 0
        for line in self.lines:
            assert (line.debit > 0 and line.credit == 0) or (line.credit > 0 and line.debit == 0), line
            debit += line.debit
            credit += line.credit
        assert self.lines, f"entry {self.piece_number} has no line"
        assert debit == credit, f"entry {self.piece_number} unbalanced: debit {debit} != credit {credit}"

    @property
    def total(self) -> int:
        """The sum of the debits (= the credits), in cents."""
        return sum(line.debit for line in self.lines)


@dataclass(frozen=True, slots=True)
class JournalSpec:
    """The journal a register books into: ``code`` is 2 to 5 capital letters, unique within the shop."""

    register_id: str
    code: str
    label: str


@dataclass(frozen=True, slots=True)
class Booking:
    """The result of one event: entries to post, journals and accounts that must exist first, and notes."""

    entries: tuple[Entry, ...]
    journals: tuple[JournalSpec, ...]
    accounts: tuple[LedgerAccount, ...]
    notes: tuple[str, ...] = ()
