"""``order.recorded``: a ticket or credit note, with its arithmetic checked against the lines.

The whole ticket adds up to ``total_incl_tax`` (lines minus discounts). The VAT breakdown printed on the ticket
is authoritative (contract 1.1): how the POS spread a discount's cents over the rates is its own choice, so the
breakdown is refused only when it cannot be a real ticket (``_check_breakdown``). Anything else is a contract
error, never a guess.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from outboxd.contract import fields as r
from outboxd.contract.limits import MAX_AMOUNT_DIGITS
from outboxd.contract.models import Address, Customer, Discount, OrderLine, OrderRecorded, VatBreakdownRow
from outboxd.exceptions import ContractError
from outboxd.money import format_cents, format_rate, round_half_up_div

__all__ = ["currency", "parse_order"]

_QUANTITY = re.compile(rf"-?(0|[1-9][0-9]{{0,{MAX_AMOUNT_DIGITS - 1}}})(\.[0-9]{{1,3}})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_COUNTRY = re.compile(r"[A-Z]{2}")
LINE_KINDS = ("goods", "service", "other", "gift_card")
CUSTOMER_TYPES = ("individual", "company")


def currency(data: dict[str, Any], where: str) -> str:
    """ISO 4217 code, ``EUR`` when absent."""
    value = data.get("currency")
    if value is None:
        return "EUR"
    if type(value) is str and _CURRENCY.fullmatch(value):
        return value
    raise ContractError(r.path(where, "currency"), f"{r.shown(value)} is not an ISO 4217 code",
                        'send 3 capital letters, e.g. "EUR"')


def _address(data: dict[str, Any], where: str) -> Address | None:
    found = r.opt_obj(data, "address", where)
    if found is None:
        return None
    here = f"{where}.address"
    country = r.opt_str(found, "country_alpha2", here)
    if country is not None and not _COUNTRY.fullmatch(country):
        r.fail(f"{here}.country_alpha2", f"{r.shown(country)} is not an ISO 3166 alpha-2 code", 'send e.g. "FR"')
    return Address(r.opt_str(found, "address", here), r.opt_str(found, "postal_code", here),
                   r.opt_str(found, "city", here), country)


def _customer(payload: dict[str, Any]) -> Customer | None:
    if "customer" not in payload:
        r.fail("payload.customer", "is missing", "send null for an anonymous ticket, else the customer object")
    data = r.opt_obj(payload, "customer", "payload")
    if data is None:
        return None
    where = "payload.customer"
    kind = r.one_of(data, "type", where, CUSTOMER_TYPES)
    first: str | None
    last: str | None
    name: str | None
    if kind == "individual":
        first, last = r.text(data, "first_name", where), r.text(data, "last_name", where)
        name = r.opt_str(data, "name", where)
    else:
        first, last = r.opt_str(data, "first_name", where), r.opt_str(data, "last_name", where)
        name = r.text(data, "name", where)
    return Customer(r.ident(data, "id", where), kind, first, last, name, r.opt_str(data, "email", where),
                    r.opt_str(data, "vat_number", where), r.opt_str(data, "reg_no", where), _address(data, where))


def _line(data: dict[str, Any], where: str) -> OrderLine:
    label = r.label(data, "label", where)
    quantity: Any = data.get("quantity")
    kind: Any = data.get("kind")
    chapter: Any = data.get("chapter")
    if type(quantity) is not str or not _QUANTITY.fullmatch(quantity):
        r.text(data, "quantity", where)
        r.fail(f"{where}.quantity", f"{r.shown(quantity)} is not a decimal quantity of at most {MAX_AMOUNT_DIGITS} "
               "digits before the point", 'send a JSON string, e.g. "2" or "0.250"')
    if kind not in LINE_KINDS:
        r.one_of(data, "kind", where, LINE_KINDS)
    if chapter is not None:
        chapter = r.ident(data, "chapter", where)
    rate = r.rate(data, "vat_rate", where)
    if kind == "gift_card" and rate:
        r.fail(f"{where}.vat_rate", f"is {format_rate(rate)} on a gift_card line",
               'send "0": a gift card carries no VAT when sold, its sale is taxed when the card is spent')
    return OrderLine(label, quantity, r.amount(data, "total_incl_tax", where), rate, kind, chapter)


def _breakdown_row(data: dict[str, Any], where: str) -> VatBreakdownRow:
    return VatBreakdownRow(r.rate(data, "rate", where), r.amount(data, "base", where), r.amount(data, "vat", where))


def _discount(data: dict[str, Any], where: str) -> Discount:
    return Discount(r.label(data, "label", where), r.amount(data, "amount_incl_tax", where))


def parse_order(payload: dict[str, Any]) -> OrderRecorded:
    where = "payload"
    raw_lines = r.items(payload, "lines", where)
    if not raw_lines:
        r.fail("payload.lines", "is empty", "send at least one line")
    lines = tuple([_line(line, f"payload.lines[{i}]") for i, line in enumerate(raw_lines)])
    discounts = tuple([_discount(d, f"payload.discounts[{i}]")
                       for i, d in enumerate(r.items(payload, "discounts", where, required=False))])
    breakdown = None
    if payload.get("vat_breakdown") is not None:
        breakdown = tuple([_breakdown_row(row, f"payload.vat_breakdown[{i}]")
                           for i, row in enumerate(r.items(payload, "vat_breakdown", where))])
    order = OrderRecorded(
        r.ident(payload, "order_id", where), r.ident(payload, "number", where), r.ident(payload, "register_id", where),
        r.business_date(payload, "business_date", where), currency(payload, where), _customer(payload), lines,
        discounts, breakdown, r.amount(payload, "total_incl_tax", where))
    check_totals(order)
    return order


def check_totals(order: OrderRecorded) -> None:
    """total = lines - discounts, a discount no larger than the lines, and a printed breakdown within the bounds
    of contract 1.1 (``_check_breakdown``)."""
    gross: dict[int, int] = {}
    for line in order.lines:
        gross[line.vat_rate] = gross.get(line.vat_rate, 0) + line.total_incl_tax
    discount = sum(d.amount_incl_tax for d in order.discounts)
    lines_total = sum(gross.values())
    expected = lines_total - discount
    if order.total_incl_tax != expected:
        r.fail("payload.total_incl_tax", f"is {format_cents(order.total_incl_tax)} but the lines minus the discounts "
               f"make {format_cents(expected)}", f'send "{format_cents(expected)}" or correct the lines')
    if discount and lines_total == 0:
        r.fail("payload.discounts", "there is a discount but the lines add up to zero", "remove the discount")
    if (lines_total > 0 > expected) or (lines_total < 0 < expected):
        r.fail("payload.discounts", f"make {format_cents(discount)}, more than the lines ({format_cents(lines_total)})",
               "a discount cannot exceed what it discounts: send a credit note for money given back")
    if order.vat_breakdown is not None:
        _check_breakdown(order, gross, discount)


def _check_breakdown(order: OrderRecorded, gross: dict[int, int], discount: int) -> None:
    """The printed breakdown is sealed by the POS and booked as printed; refused only when it cannot be a real ticket:
    its rates do not add up to the total, a rate has no line, a rate's net lies outside what the discounts can
    explain, or a rate's VAT is off base x rate by more than a cent per line at that rate."""
    assert order.vat_breakdown is not None
    lines_at = Counter(line.vat_rate for line in order.lines)
    printed: dict[int, int] = {}
    for i, row in enumerate(order.vat_breakdown):
        where = f"payload.vat_breakdown[{i}]"
        if row.rate in printed:
            r.fail(f"{where}.rate", f"rate {format_rate(row.rate)} appears twice", "send one row per VAT rate")
        if row.rate not in gross:
            r.fail(f"{where}.rate", f"no line has VAT rate {format_rate(row.rate)}",
                   "send one row per VAT rate of the lines")
        printed[row.rate] = row.base + row.vat
        exact = round_half_up_div(row.base * row.rate, 1000)
        if abs(row.vat - exact) > lines_at[row.rate]:
            r.fail(f"{where}.vat", f"is {format_cents(row.vat)} but {format_cents(row.base)} at "
                   f"{format_rate(row.rate)} % makes {format_cents(exact)}, more than a cent per line away",
                   "print the VAT of that rate computed on its base")
    if sum(printed.values()) != order.total_incl_tax:
        r.fail("payload.vat_breakdown", f"adds up to {format_cents(sum(printed.values()))} but the ticket says "
               f"{format_cents(order.total_incl_tax)}", "print base + vat per rate adding up to total_incl_tax")
    for rate, amount in gross.items():
        net = printed.get(rate, 0)
        low, high = sorted((amount, amount - discount))
        if not low <= net <= high:
            where = "payload.vat_breakdown" + (f"[{list(printed).index(rate)}]" if rate in printed else "")
            r.fail(where, f"base + vat at {format_rate(rate)} % = {format_cents(net)}, outside what the lines at that "
                   f"rate ({format_cents(amount)}) less at most the discounts ({format_cents(discount)}) can make",
                   "print per rate the lines' amount less the part of the discounts the POS gave that rate")
