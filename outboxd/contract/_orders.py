"""``order.recorded``: a ticket or credit note, with its arithmetic checked against the lines.

The VAT breakdown printed on the ticket is authoritative, so it must agree with the lines: per rate,
lines minus that rate's share of the discounts (``outboxd.money.spread_discount``) = base + VAT, and the
whole ticket adds up to ``total_incl_tax``. A ticket that does not add up is a contract error, never a guess.
"""

from __future__ import annotations

import re
from typing import Any

from outboxd.contract import _read as r
from outboxd.contract.models import Address, Customer, Discount, OrderLine, OrderRecorded, VatBreakdownRow
from outboxd.exceptions import ContractError
from outboxd.money import format_cents, format_rate, spread_discount

__all__ = ["currency", "parse_order"]

_QUANTITY = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]{1,3})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_COUNTRY = re.compile(r"[A-Z]{2}")
LINE_KINDS = ("goods", "service", "other")
CUSTOMER_TYPES = ("individual", "company")


def currency(data: dict[str, Any], where: str) -> str:
    """ISO 4217 code, ``EUR`` when absent."""
    value = data.get("currency")
    if value is None:
        return "EUR"
    if type(value) is str and _CURRENCY.fullmatch(value):
        return value
    raise ContractError(r.path(where, "currency"), f"{value!r} is not an ISO 4217 code",
                        'send 3 capital letters, e.g. "EUR"')


def _address(data: dict[str, Any], where: str) -> Address | None:
    found = r.opt_obj(data, "address", where)
    if found is None:
        return None
    here = f"{where}.address"
    country = r.opt_str(found, "country_alpha2", here)
    if country is not None and not _COUNTRY.fullmatch(country):
        r.fail(f"{here}.country_alpha2", f"{country!r} is not an ISO 3166 alpha-2 code", 'send e.g. "FR"')
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
    return Customer(r.text(data, "id", where), kind, first, last, name, r.opt_str(data, "email", where),
                    r.opt_str(data, "vat_number", where), r.opt_str(data, "reg_no", where), _address(data, where))


def _line(data: dict[str, Any], where: str) -> OrderLine:
    label: Any = data.get("label")
    quantity: Any = data.get("quantity")
    kind: Any = data.get("kind")
    chapter: Any = data.get("chapter")
    if type(label) is not str:
        r.text(data, "label", where)
    if type(quantity) is not str or not _QUANTITY.fullmatch(quantity):
        r.text(data, "quantity", where)
        r.fail(f"{where}.quantity", f"{quantity!r} is not a decimal quantity",
               'send a JSON string, e.g. "2" or "0.250"')
    if kind not in LINE_KINDS:
        r.one_of(data, "kind", where, LINE_KINDS)
    if chapter is not None and type(chapter) is not str:
        r.opt_str(data, "chapter", where)
    return OrderLine(label, quantity, r.amount(data, "total_incl_tax", where), r.rate(data, "vat_rate", where),
                     kind, chapter)


def _breakdown_row(data: dict[str, Any], where: str) -> VatBreakdownRow:
    return VatBreakdownRow(r.rate(data, "rate", where), r.amount(data, "base", where), r.amount(data, "vat", where))


def _discount(data: dict[str, Any], where: str) -> Discount:
    label: Any = data.get("label")
    if type(label) is not str:
        r.text(data, "label", where)
    return Discount(label, r.amount(data, "amount_incl_tax", where))


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
        r.text(payload, "order_id", where), r.text(payload, "number", where), r.text(payload, "register_id", where),
        r.business_date(payload, "business_date", where), currency(payload, where), _customer(payload), lines,
        discounts, breakdown, r.amount(payload, "total_incl_tax", where))
    check_totals(order)
    return order


def check_totals(order: OrderRecorded) -> None:
    """total = lines - discounts; and the VAT breakdown, when sent, agrees with the lines rate by rate."""
    gross: dict[int, int] = {}
    for line in order.lines:
        gross[line.vat_rate] = gross.get(line.vat_rate, 0) + line.total_incl_tax
    discount = sum(d.amount_incl_tax for d in order.discounts)
    expected = sum(gross.values()) - discount
    if order.total_incl_tax != expected:
        r.fail("payload.total_incl_tax", f"is {format_cents(order.total_incl_tax)} but the lines minus the discounts "
               f"make {format_cents(expected)}", f'send "{format_cents(expected)}" or correct the lines')
    if order.vat_breakdown is None:
        return
    try:
        shares = spread_discount(gross, discount)
    except ValueError:
        r.fail("payload.discounts", "there is a discount but the lines add up to zero", "remove the discount")
    seen: set[int] = set()
    for i, row in enumerate(order.vat_breakdown):
        where = f"payload.vat_breakdown[{i}]"
        if row.rate in seen:
            r.fail(f"{where}.rate", f"rate {format_rate(row.rate)} appears twice", "send one row per VAT rate")
        seen.add(row.rate)
        if row.rate not in gross:
            r.fail(f"{where}.rate", f"no line has VAT rate {format_rate(row.rate)}",
                   "send one row per VAT rate of the lines")
        net = gross[row.rate] - shares[row.rate]
        if row.base + row.vat != net:
            r.fail(where, f"base + vat = {format_cents(row.base + row.vat)} but the lines at {format_rate(row.rate)} % "
                   f"minus their share of the discounts make {format_cents(net)}",
                   "print base + vat = the net amount incl. VAT of that rate (discounts spread by gross amounts)")
    for rate, amount in gross.items():
        if rate not in seen and amount != shares[rate]:
            r.fail("payload.vat_breakdown", f"has no row for VAT rate {format_rate(rate)}", "send one row per rate")
