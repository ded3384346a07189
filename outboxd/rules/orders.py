"""order.recorded -> one entry: D customer (total incl. VAT), C sales per rate (base), C VAT per rate (VAT).

A credit note carries negative amounts and comes out as the same lines with the sides swapped. When several
sales accounts share a rate (goods and services, or chapters), the rate's base is shared between them in
proportion to their amounts, largest remainder, so the sum stays exact.
"""

from __future__ import annotations

from typing import Any

from outboxd.contract.models import Customer, Event, OrderRecorded
from outboxd.exceptions import BookingError
from outboxd.money import format_rate
from outboxd.rules.accounts import check_rate, sales_account, vat_account
from outboxd.rules.entries import (
    AccountRef,
    Booking,
    CustomerAccount,
    Entry,
    EntryLine,
    LedgerAccount,
    customer_reference,
)
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
    catalogue = mapping.catalogue
    journal = catalogue.journals.get(order.register_id) or journal_for(
        order.register_id, mapping.registers.get(order.register_id), mapping.journals
    )
    # Group the lines per rate and sales account: rate -> {account number: [account, weight]}.
    use_chapters = mapping.use_chapters
    by_rate: dict[int, dict[str, list[Any]]] = {}
    for index, ticket_line in enumerate(order.lines):
        rate = ticket_line.vat_rate
        key = (ticket_line.kind, rate, ticket_line.chapter if use_chapters else None)
        account = catalogue.sales.get(key)
        if account is None:
            if ticket_line.kind != "gift_card":  # a card sold carries no VAT: its rate needs no mapping
                check_rate(mapping, rate, f"ticket {order.number}, line {index + 1}")
            account = sales_account(mapping, ticket_line.kind, rate, key[2])
        weights = by_rate.setdefault(rate, {})
        slot = weights.get(account.number)
        if slot is None:
            weights[account.number] = [account, ticket_line.total_incl_tax]
        else:
            slot[1] += ticket_line.total_incl_tax

    kind_word = "Avoir" if order.total_incl_tax < 0 else "Ticket"
    if order.customer is None or mapping.customers == "none":  # "none": no personal data leaves the shop
        customer: AccountRef = catalogue.counter_customer
        label = f"{kind_word} {order.number}"
    else:
        customer = CustomerAccount(customer_reference(event.shop_id, order.customer.id), order.customer)
        label = f"{kind_word} {order.number} {customer_name(order.customer)}"

    sales_lines: list[EntryLine] = []
    vat_lines: list[EntryLine] = []
    totals_by_rate, spread_note = rate_totals(order)
    notes = () if spread_note is None else (spread_note,)
    for totals in totals_by_rate:
        slots = list(by_rate.get(totals.rate, {}).values())
        try:
            bases = split_by_weight(totals.base, [weight for _, weight in slots])
        except ValueError:
            check_rate(mapping, totals.rate, f"ticket {order.number}, vat_breakdown")
            raise BookingError(
                f"ticket {order.number}",
                f"a base at {format_rate(totals.rate)} % but no amount",
                "the ticket is inconsistent; fix it in Kash.Click",
            ) from None
        for (account, _), base in zip(slots, bases, strict=True):
            if base > 0:
                sales_lines.append(EntryLine(account, 0, base, account.label))
            elif base < 0:
                sales_lines.append(EntryLine(account, -base, 0, account.label))
        if totals.vat:
            vat = catalogue.vat.get(totals.rate) or vat_account(mapping, totals.rate)
            vat_lines.append(line(vat, totals.vat, vat.label, debit=False))

    if not sales_lines and not vat_lines:
        note = f"{kind_word.lower()} {order.number}: zero amount, no entry"
        return Booking((), (journal,), (), (*notes, note))
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
    accounts = {ln.account: None for ln in lines if type(ln.account) is LedgerAccount}
    return Booking((entry,), (journal,), tuple(accounts), notes)
