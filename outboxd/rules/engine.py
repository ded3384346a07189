"""``book(event, mapping)``: one contract event and the shop's effective mapping in, a Booking out. Pure.

A processor in structlog's sense: a plain callable, no I/O, no state, tested by calling it. An event the
mapping cannot book raises BookingError naming what is missing and the configuration key that fixes it.
"""

from __future__ import annotations

from outboxd.contract.models import Event, OrderRecorded, PaymentRecorded, ReferenceUpdated
from outboxd.rules.accounts import chapter_collisions, method_account, method_label, required_accounts
from outboxd.rules.closing import book_closing
from outboxd.rules.entries import Booking, Entry, JournalSpec, OrderCustomerAccount
from outboxd.rules.journals import assign_journal_codes, journal_for, journal_label
from outboxd.rules.mapping import ShopMapping, effective_mapping
from outboxd.rules.orders import book_order, line
from outboxd.rules.pieces import payment_piece

__all__ = ["book", "book_payment", "book_reference"]


def book_payment(event: Event, mapping: ShopMapping, ticket_number: str | None = None) -> Booking:
    """D the payment method's account / C the order's customer account; a refund (negative) swaps the sides.

    The label names the ticket it pays (``ticket_number``, from the order's event) so that the accountant reads the
    customer account's lines in pairs; the order id when the order is not known here (booked before, elsewhere).
    """
    payment = event.payload
    assert isinstance(payment, PaymentRecorded)
    journal = journal_for(payment.register_id, mapping.registers.get(payment.register_id), mapping.journals)
    if payment.amount == 0:
        return Booking((), (journal,), (), (f"payment {payment.payment_id}: zero amount, no entry",))
    method = method_account(mapping, payment.method_id, payment.register_id)
    word = "Paiement" if payment.amount > 0 else "Remboursement"
    pays = f"ticket {ticket_number}" if ticket_number else f"commande {payment.order_id}"
    label = f"{word} {method_label(mapping, payment.method_id)} {pays}"
    lines = (
        line(method, payment.amount, label, debit=True),
        line(OrderCustomerAccount(payment.order_id), payment.amount, label, debit=False),
    )
    entry = Entry(
        payment.register_id,
        payment.business_date,
        label,
        payment_piece(mapping.piece_prefix, payment.payment_id),
        payment.currency,
        lines,
    )
    return Booking((entry,), (journal,), (method,))


def book_reference(event: Event, mapping: ShopMapping) -> Booking:
    """No entry: the journals of the shop's registers. Accounts are created when first booked on (a fresh shop's
    chart costs only what it books), but the mapping is checked now for every one it could need, so that a rate
    or a register it cannot book stops here, named, rather than at its first ticket."""
    reference = event.payload
    assert isinstance(reference, ReferenceUpdated)
    mapping = effective_mapping(mapping, reference)
    codes = assign_journal_codes(reference.registers, mapping.journals)
    journals = tuple(JournalSpec(r.id, codes[r.id], journal_label(r.name)) for r in reference.registers)
    accounts = required_accounts(mapping, reference.vat_rates)
    notes = (f"reference: {len(journals)} journal(s), {len(accounts)} account(s) mapped, created on first use",)
    return Booking((), journals, (), notes + tuple(chapter_collisions(mapping, reference.vat_rates)))


def book(event: Event, mapping: ShopMapping, *, ticket_number: str | None = None) -> Booking:
    """The entries one event becomes, with the journals and accounts they need. Raises BookingError.

    ``ticket_number``: for a payment, the number of the ticket it pays, when its order's event is known.
    """
    payload = event.payload
    if isinstance(payload, OrderRecorded):
        return book_order(event, mapping)
    if isinstance(payload, PaymentRecorded):
        return book_payment(event, mapping, ticket_number)
    if isinstance(payload, ReferenceUpdated):
        return book_reference(event, mapping)
    return book_closing(event, mapping)
