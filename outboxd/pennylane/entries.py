"""The body of ``POST /ledger_entries``, typed: one entry, its journal, its lines on their Pennylane accounts.

Pennylane refuses a field its schema does not name (``additionalProperties: false``, on the entry and on each
line), so :meth:`LedgerEntryRequest.body` writes these fields and no other. Amounts are integer cents here and
leave as strings with two decimals (``"12.50"``, ``outboxd.money.format_cents``); labels leave cleaned and cut to
``MAX_LABEL`` (a customer's name can make one long). An entry without a line, with more lines than one request
takes, with a negative amount or that does not balance is refused here: it never leaves the process.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from outboxd.contract.limits import MAX_LABEL, clean_text
from outboxd.exceptions import BookingError
from outboxd.money import format_cents

__all__ = ["MAX_LINES", "LedgerEntryLine", "LedgerEntryRequest"]

MAX_LINES = 1000
"""Lines Pennylane takes in one ``POST /ledger_entries``."""


@dataclass(frozen=True, slots=True)
class LedgerEntryLine:
    """One line: ``debit`` or ``credit`` in cents on the Pennylane account ``ledger_account_id``."""

    ledger_account_id: int
    debit: int
    credit: int
    label: str

    def body(self) -> dict[str, str | int]:
        return {
            "debit": format_cents(self.debit),
            "credit": format_cents(self.credit),
            "ledger_account_id": self.ledger_account_id,
            "label": clean_text(self.label, MAX_LABEL),
        }


@dataclass(frozen=True, slots=True)
class LedgerEntryRequest:
    """One entry as Pennylane creates it; ``piece_number`` is the key the daemon finds it again by."""

    date: dt.date
    label: str
    journal_id: int
    piece_number: str
    currency: str
    lines: tuple[LedgerEntryLine, ...]

    def __post_init__(self) -> None:
        debit = sum(line.debit for line in self.lines)
        credit = sum(line.credit for line in self.lines)
        negative = any(line.debit < 0 or line.credit < 0 for line in self.lines)
        if not 0 < len(self.lines) <= MAX_LINES or negative or debit != credit:
            raise BookingError(
                f"entry {self.piece_number}",
                f"cannot be sent to Pennylane: {len(self.lines)} lines (1 to {MAX_LINES}), debit "
                f"{format_cents(debit)} and credit {format_cents(credit)} (equal, never negative)",
            )

    def body(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "label": clean_text(self.label, MAX_LABEL),
            "journal_id": self.journal_id,
            "piece_number": self.piece_number,
            "currency": self.currency,
            "ledger_entry_lines": [line.body() for line in self.lines],
        }
