"""One simulated Pennylane company: its chart of accounts, journals, customers, fiscal years and entries.

Plain dataclasses with the indexes the API needs (account by number, customer by external_reference,
entries by (journal_id, date)), so every lookup the bridge makes is a dict access. Amounts are cents.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_ACCOUNTS",
    "DEFAULT_JOURNALS",
    "Company",
    "Customer",
    "Entry",
    "FiscalYear",
    "Journal",
    "LedgerAccount",
    "Line",
]

# A subset of the French chart (PCG): enough to look real, small enough that the bridge creates the rest.
DEFAULT_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("401000", "Fournisseurs", ""),
    ("411000", "Clients", ""),
    ("44571", "TVA collectée", ""),
    ("512000", "Banque", ""),
    ("530000", "Caisse", ""),
    ("627000", "Services bancaires", ""),
    ("658000", "Charges diverses de gestion courante", ""),
    ("706000", "Prestations de services", "FR_200"),
    ("707000", "Ventes de marchandises", "FR_200"),
    ("758000", "Produits divers de gestion courante", ""),
)
DEFAULT_JOURNALS: tuple[tuple[str, str, str], ...] = (
    ("VT", "Ventes", "sale"),
    ("HA", "Achats", "purchase"),
    ("BQ", "Banque", "bank"),
    ("OD", "Opérations diverses", "misc"),
)
# Customers created without an explicit account get 411 + this sequence (4110001, 4110002...).
CUSTOMER_ACCOUNT_PREFIX = "411"
CUSTOMER_ACCOUNT_FIRST = 1


@dataclass(slots=True)
class FiscalYear:
    id: int
    start: str
    finish: str
    status: str  # open, reopen, closed, frozen
    created_at: str


@dataclass(slots=True)
class Journal:
    id: int
    code: str
    label: str
    type: str


@dataclass(slots=True)
class LedgerAccount:
    id: int
    number: str
    label: str
    vat_rate: str
    country_alpha2: str
    created_at: str


@dataclass(slots=True)
class Customer:
    id: int
    kind: str  # individual or company
    name: str
    first_name: str
    last_name: str
    ledger_account_id: int
    external_reference: str
    fields: dict[str, Any]  # the rest of the body, echoed back as sent
    created_at: str


@dataclass(slots=True)
class Line:
    id: int
    ledger_account_id: int
    debit: int
    credit: int
    label: str


@dataclass(slots=True)
class Entry:
    id: int
    journal_id: int
    date: str
    label: str
    piece_number: str | None
    currency: str
    due_date: str | None
    lines: list[Line]
    created_at: str


@dataclass(slots=True)
class Company:
    """A company and its books. Ids come from ``next_id``, shared by the whole sandbox (ids are global)."""

    id: int
    name: str
    reg_no: str
    next_id: Callable[[], int]
    now: Callable[[], str]
    fiscal_years: list[FiscalYear] = field(default_factory=list)
    journals: dict[int, Journal] = field(default_factory=dict)
    journal_codes: dict[str, int] = field(default_factory=dict)
    accounts: dict[int, LedgerAccount] = field(default_factory=dict)
    account_numbers: dict[str, int] = field(default_factory=dict)
    customers: dict[int, Customer] = field(default_factory=dict)
    customer_refs: dict[str, int] = field(default_factory=dict)
    entries: dict[int, Entry] = field(default_factory=dict)
    entries_by_day: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    lines: dict[int, tuple[Entry, Line]] = field(default_factory=dict)
    lettering: dict[int, frozenset[int]] = field(default_factory=dict)  # line id -> its group's line ids
    customer_numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(CUSTOMER_ACCOUNT_FIRST))

    def add_fiscal_year(self, start: str, finish: str, status: str) -> FiscalYear:
        year = FiscalYear(self.next_id(), start, finish, status, self.now())
        self.fiscal_years.append(year)
        return year

    def add_journal(self, code: str, label: str, type_: str = "misc") -> Journal:
        journal = Journal(self.next_id(), code, label, type_)
        self.journals[journal.id] = journal
        self.journal_codes[code] = journal.id
        return journal

    def add_account(self, number: str, label: str, vat_rate: str = "", country_alpha2: str = "FR") -> LedgerAccount:
        account = LedgerAccount(self.next_id(), number, label, vat_rate, country_alpha2, self.now())
        self.accounts[account.id] = account
        self.account_numbers[number] = account.id
        return account

    def next_customer_account_number(self) -> str:
        """The next free 411 number: Pennylane numbers a customer's own account sequentially."""
        while True:
            number = f"{CUSTOMER_ACCOUNT_PREFIX}{next(self.customer_numbers):04d}"
            if number not in self.account_numbers:
                return number

    def add_customer(
        self, kind: str, name: str, account: LedgerAccount, *, external_reference: str = "",
        first_name: str = "", last_name: str = "", fields: dict[str, Any] | None = None,
    ) -> Customer:
        customer = Customer(
            self.next_id(), kind, name, first_name, last_name, account.id, external_reference,
            dict(fields or {}), self.now(),
        )
        self.customers[customer.id] = customer
        if external_reference:
            self.customer_refs[external_reference] = customer.id
        return customer

    def add_entry(self, entry: Entry) -> None:
        self.entries[entry.id] = entry
        self.entries_by_day.setdefault((entry.journal_id, entry.date), []).append(entry.id)
        self.lines.update((line.id, (entry, line)) for line in entry.lines)

    def open_year_for(self, date: str) -> FiscalYear | None:
        """The open (or reopened) fiscal year holding ``date``; None when closed, frozen or outside every year."""
        for year in self.fiscal_years:
            if year.start <= date <= year.finish:
                return year if year.status in {"open", "reopen"} else None
        return None
