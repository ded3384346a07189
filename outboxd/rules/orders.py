"""order.recorded -> one entry: D customer (total incl. VAT), C sales per rate (base), C VAT per rate (VAT).

A credit note carries negative amounts and comes out as the same lines with the sides swapped. When several
sales accounts share a rate (goods and services, or chapters), the rate's base is shared between them in
proportion to their amounts, largest remainder, so the sum stays exact.
"""

from __future__ import annotations

from outboxd.contract.models import Customer, Event, OrderRecorded
from outboxd.exceptions import BookingError
from outboxd.money import format_rate
from outboxd.rules.accounts import check_rate, counter_customer_account, sales_account, vat_account
from outboxd.rules.entries import AccountRef, Booking, CustomerAccount, Entry, EntryLine, LedgerAccount
from outboxd.rules.journals import journal_for
from outboxd.rules.mapping import ShopMapping
from outboxd.rules.pieces import order_piece
from outboxd.rules.vat import rate_totals, split_by_weight

__all__ = ["book_order", "customer_name", "line"]


def customer_name(customer: Customer) -> str:
    """How the accountant reads the customer in labels: the company name, else first and last name."""
    if customer.type == "company" and customer.name:
        return customer.name
    return " ".join(part for part in (customer.first_name, customer.last_name) if part) or customer.name or customer.id


def line(account: AccountRef, amount: int, label: str, *, debit: bool) -> EntryLine:
    """A line for a signed amount on its natural side (``debit``); a negative amount goes to the other side."""
    if (amount > 0) == debit:
        return EntryLine(account, abs(amount), 0, label)
    return EntryLine(account, 0, abs(amount), label)


def book_order(event: Event, mapping: ShopMapping) -> Booking:
    order = event.payload
    assert isinstance(order, OrderRecorded)
    journal = journal_for(order.register_id, mapping.registers.get(order.register_id), mapping.journals)
    for index, ticket_line in enumerate(order.lines):
        check_rate(mapping, ticket_line.vat_rate, f"ticket {order.number}, line {index + 1}")
    if order.vat_breakdown is not None:
        for row in order.vat_breakdown:
            check_rate(mapping, row.rate, f"ticket {order.number}, vat_breakdown")

    credit_note = order.total_incl_tax < 0
    kind_word = "Avoir" if credit_note else "Ticket"
    if order.customer is None:
        customer: AccountRef = counter_customer_account(mapping)
        label = f"{kind_word} {order.number}"
    else:
        customer = CustomerAccount(f"kashclick:{event.shop_id}:{order.customer.id}", order.customer)
        label = f"{kind_word} {order.number} {customer_name(order.customer)}"

    sales_lines: list[EntryLine] = []
    vat_lines: list[EntryLine] = []
    for totals in rate_totals(order):
        weights: dict[LedgerAccount, int] = {}
        for ticket_line in order.lines:
            if ticket_line.vat_rate == totals.rate:
                account = sales_account(mapping, ticket_line.kind, totals.rate, ticket_line.chapter)
                weights[account] = weights.get(account, 0) + ticket_line.total_incl_tax
        try:
            bases = split_by_weight(totals.base, list(weights.values()))
        except ValueError:
            raise BookingError(
                f"ticket {order.number}",
                f"a base at {format_rate(totals.rate)} % but no amount",
                "the ticket is inconsistent; fix it in Kash.Click",
            ) from None
        for account, base in zip(weights, bases, strict=True):
            if base:
                sales_lines.append(line(account, base, account.label, debit=False))
        if totals.vat:
            vat = vat_account(mapping, totals.rate)
            vat_lines.append(line(vat, totals.vat, vat.label, debit=False))

    if not sales_lines and not vat_lines:
        note = f"{kind_word.lower()} {order.number}: zero amount, no entry"
        return Booking((), (journal,), (), (note,))
    lines = [*sales_lines, *vat_lines]
    if order.total_incl_tax:
        lines.insert(0, line(customer, order.total_incl_tax, label, debit=True))
    entry = Entry(
        order.register_id,
        order.business_date,
        label,
        order_piece(mapping.piece_prefix, order.number, order.register_id),
        order.currency,
        tuple(lines),
    )
    accounts = [ln.account for ln in lines if isinstance(ln.account, LedgerAccount)]
    return Booking((entry,), (journal,), tuple(dict.fromkeys(accounts)))
