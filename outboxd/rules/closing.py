"""register.closed -> the seed's global entry and one cash-difference entry per method counted wrong; the Z control.

The global entry (D general sales / C general receipts, by the session's sales total incl. VAT) records the Z
total in the register's journal. Tickets and payments are already booked one by one, so by default both sides
sit on the same memo account (580000): the Z shows in the journal and changes no balance, and revenue is never
counted twice. ``mapping.closing.global_entry = false`` switches it off (docs/accounting.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from outboxd.contract.models import Event, RegisterClosed
from outboxd.money import format_cents
from outboxd.rules.accounts import cash_difference_account, closing_accounts, method_account, method_label
from outboxd.rules.entries import Booking, Entry, EntryLine, LedgerAccount
from outboxd.rules.journals import journal_for
from outboxd.rules.mapping import ShopMapping
from outboxd.rules.orders import line
from outboxd.rules.pieces import closing_piece, difference_piece

__all__ = ["SALES_TOTAL", "ZControl", "ZControlRow", "book_closing", "z_control"]

SALES_TOTAL = "sales_total_incl_tax"
"""The Z control's row for the sales total, beside the payment methods' rows."""


@dataclass(frozen=True, slots=True)
class ZControlRow:
    """One payment method at one closing: what the POS expected, what was delivered, ``delivered - expected``."""

    method_id: str
    expected: int
    delivered: int
    difference: int


@dataclass(frozen=True, slots=True)
class ZControl:
    """A closing against what the bridge booked for its register and business day: the payments per method, and
    the Z's ``sales_total_incl_tax`` against the tickets (``sales``, whose ``delivered`` is the tickets' total)."""

    rows: tuple[ZControlRow, ...]
    sales: ZControlRow

    @property
    def differs(self) -> bool:
        return bool(self.sales.difference) or any(row.difference for row in self.rows)


def z_control(closing: RegisterClosed, delivered_payments_by_method: Mapping[str, int], booked_sales: int) -> ZControl:
    """The payments delivered for the closing's register and date, per method, against the Z's ``expected``; the
    tickets booked for them against its sales total.

    Every method of the Z comes first in its order, then methods paid but absent from the Z; a non-zero
    ``difference`` is what the operator is told about.
    """
    expected = {receipt.method_id: receipt.expected for receipt in closing.receipts}
    methods = [*expected, *sorted(m for m in delivered_payments_by_method if m not in expected)]
    rows = []
    for method_id in methods:
        want, got = expected.get(method_id, 0), delivered_payments_by_method.get(method_id, 0)
        rows.append(ZControlRow(method_id, want, got, got - want))
    total = closing.sales_total_incl_tax
    return ZControl(tuple(rows), ZControlRow(SALES_TOTAL, total, booked_sales, booked_sales - total))


def book_closing(event: Event, mapping: ShopMapping) -> Booking:
    closing = event.payload
    assert isinstance(closing, RegisterClosed)
    name = mapping.registers.get(closing.register_id)
    journal = journal_for(closing.register_id, name, mapping.journals)
    title = f"Clôture Z{closing.z_number} {name or closing.register_id}"
    prefix = mapping.piece_prefix
    entries: list[Entry] = []
    notes: list[str] = []
    if not mapping.closing_entry:
        notes.append(f"{title}: global entry switched off (mapping.closing.global_entry)")
    elif closing.sales_total_incl_tax == 0:
        notes.append(f"{title}: zero sales total, no global entry")
    else:
        sales, receipts = closing_accounts(mapping)
        total = closing.sales_total_incl_tax
        lines = (
            line(sales, total, f"{title} - ventes TTC", debit=True),
            line(receipts, total, f"{title} - recettes", debit=False),
        )
        entries.append(
            Entry(
                closing.register_id,
                closing.business_date,
                title,
                closing_piece(prefix, closing.z_number, closing.register_id),
                "EUR",
                lines,
            )
        )
    for receipt in closing.receipts:
        gap = receipt.counted - receipt.expected
        if gap == 0:
            continue
        method = method_account(mapping, receipt.method_id, closing.register_id)
        what = "manquant" if gap < 0 else "excédent"
        label = (
            f"Écart de caisse Z{closing.z_number} {name or closing.register_id} "
            f"{method_label(mapping, receipt.method_id)} : {what} {format_cents(abs(gap))}"
        )
        difference = cash_difference_account(mapping, shortage=gap < 0)
        debit, credit = (difference, method) if gap < 0 else (method, difference)
        entries.append(
            Entry(
                closing.register_id,
                closing.business_date,
                label,
                difference_piece(prefix, closing.z_number, closing.register_id, receipt.method_id),
                "EUR",
                (EntryLine(debit, abs(gap), 0, label), EntryLine(credit, 0, abs(gap), label)),
            )
        )
    accounts = [ln.account for entry in entries for ln in entry.lines if isinstance(ln.account, LedgerAccount)]
    return Booking(tuple(entries), (journal,), tuple(dict.fromkeys(accounts)), tuple(notes))
