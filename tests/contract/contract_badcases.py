"""Bad outbox rows and the field each one must be rejected on: shared by the parser and the JSON Schema tests.

Each case starts from a valid row of the contract's examples and changes one thing. ``schema`` says whether
a JSON Schema can express the rule (arithmetic and cross-field rules are the parser's alone).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from contract_examples import row

DELETE: Any = object()


class Bad(NamedTuple):
    name: str
    event_type: str
    changes: dict[str, Any]  # field path -> new value (DELETE removes the key)
    field: str  # the path the error must name
    schema: bool = True


def apply(case: Bad) -> dict[str, Any]:
    """The case's row: a fresh valid row with the changes made."""
    result = row(case.event_type)
    for path, value in case.changes.items():
        keys: list[str | int] = [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", path)]
        target = result
        for key in keys[:-1]:
            target = target[key]
        if value is DELETE:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
    return result


ORD, PAY, CLO, REF = "order.recorded", "payment.recorded", "register.closed", "reference.updated"
BREAKDOWN_OK = "payload.vat_breakdown"
CASES = [
    # the row envelope
    Bad("event_id missing", ORD, {"event_id": DELETE}, "event_id"),
    Bad("event_id not a string", ORD, {"event_id": 5}, "event_id"),
    Bad("shop_id empty", ORD, {"shop_id": ""}, "shop_id"),
    Bad("unknown event_type", ORD, {"event_type": "order.created"}, "event_type"),
    Bad("aggregate_id missing", ORD, {"aggregate_id": DELETE}, "aggregate_id"),
    Bad("occurred_at without offset", ORD, {"occurred_at": "2026-03-14T18:02:11"}, "occurred_at"),
    Bad("occurred_at a date", ORD, {"occurred_at": "2026-03-14"}, "occurred_at"),
    # a schema validator checks the calendar of a date-time only with rfc3339-validator installed
    Bad("occurred_at not a real time", ORD, {"occurred_at": "2026-02-30T10:00:00+01:00"}, "occurred_at", schema=False),
    Bad("occurred_at a number", ORD, {"occurred_at": 1773507731}, "occurred_at"),
    Bad("payload missing", ORD, {"payload": DELETE}, "payload"),
    Bad("payload an array", ORD, {"payload": [1, 2]}, "payload"),
    Bad("payload bad JSON text", ORD, {"payload": '{"order_id": "o-1",'}, "payload", schema=False),
    Bad("payload JSON text not an object", ORD, {"payload": "[1, 2]"}, "payload"),
    Bad("id not an integer", ORD, {"id": "7"}, "id"),
    # aggregate_id conventions: they drive ordering
    Bad("order under another order", ORD, {"aggregate_id": "order:o-1"}, "aggregate_id", schema=False),
    Bad("order under a register", ORD, {"aggregate_id": "register:r1"}, "aggregate_id"),
    Bad("payment under another order", PAY, {"aggregate_id": "order:o-1"}, "aggregate_id", schema=False),
    Bad("closing under an order", CLO, {"aggregate_id": "order:o-10452"}, "aggregate_id"),
    Bad("closing under another register", CLO, {"aggregate_id": "register:r2"}, "aggregate_id", schema=False),
    Bad("reference under a key", REF, {"aggregate_id": "reference:1"}, "aggregate_id"),
    # order.recorded
    Bad("order_id missing", ORD, {"payload.order_id": DELETE}, "payload.order_id"),
    Bad("number not a string", ORD, {"payload.number": 482}, "payload.number"),
    Bad("business_date in French", ORD, {"payload.business_date": "14/03/2026"}, "payload.business_date"),
    Bad("business_date not a date", ORD, {"payload.business_date": "2026-13-01"}, "payload.business_date"),
    Bad("currency lower case", ORD, {"payload.currency": "eur"}, "payload.currency"),
    Bad("currency a number", ORD, {"payload.currency": 978}, "payload.currency"),
    Bad("customer missing", ORD, {"payload.customer": DELETE}, "payload.customer"),
    Bad("customer a string", ORD, {"payload.customer": "c-77"}, "payload.customer"),
    Bad("customer type unknown", ORD, {"payload.customer.type": "person"}, "payload.customer.type"),
    Bad("customer id missing", ORD, {"payload.customer.id": DELETE}, "payload.customer.id"),
    Bad("individual without last name", ORD, {"payload.customer.last_name": None}, "payload.customer.last_name"),
    Bad("individual with empty first name", ORD, {"payload.customer.first_name": ""}, "payload.customer.first_name"),
    Bad("company without name", ORD, {"payload.customer.type": "company"}, "payload.customer.name"),
    Bad("email a number", ORD, {"payload.customer.email": 1}, "payload.customer.email"),
    Bad("country not alpha-2", ORD, {"payload.customer.address.country_alpha2": "France"},
        "payload.customer.address.country_alpha2"),
    Bad("lines missing", ORD, {"payload.lines": DELETE}, "payload.lines"),
    Bad("lines empty", ORD, {"payload.lines": []}, "payload.lines"),
    Bad("lines an object", ORD, {"payload.lines": {"label": "x"}}, "payload.lines"),
    Bad("line not an object", ORD, {"payload.lines[1]": "Confiture"}, "payload.lines[1]"),
    Bad("line amount a float", ORD, {"payload.lines[2].total_incl_tax": 12.5}, "payload.lines[2].total_incl_tax"),
    Bad("line amount an int", ORD, {"payload.lines[2].total_incl_tax": 12}, "payload.lines[2].total_incl_tax"),
    Bad("line amount 3 decimals", ORD, {"payload.lines[2].total_incl_tax": "12.500"},
        "payload.lines[2].total_incl_tax"),
    Bad("line amount with a comma", ORD, {"payload.lines[2].total_incl_tax": "12,50"},
        "payload.lines[2].total_incl_tax"),
    Bad("line amount missing", ORD, {"payload.lines[0].total_incl_tax": DELETE}, "payload.lines[0].total_incl_tax"),
    Bad("vat rate a number", ORD, {"payload.lines[0].vat_rate": 20}, "payload.lines[0].vat_rate"),
    Bad("vat rate with percent", ORD, {"payload.lines[0].vat_rate": "20%"}, "payload.lines[0].vat_rate"),
    Bad("vat rate 2 decimals", ORD, {"payload.lines[1].vat_rate": "5.50"}, "payload.lines[1].vat_rate"),
    Bad("line kind unknown", ORD, {"payload.lines[0].kind": "food"}, "payload.lines[0].kind"),
    Bad("quantity a number", ORD, {"payload.lines[0].quantity": 2}, "payload.lines[0].quantity"),
    Bad("quantity not decimal", ORD, {"payload.lines[0].quantity": "two"}, "payload.lines[0].quantity"),
    Bad("label missing", ORD, {"payload.lines[0].label": DELETE}, "payload.lines[0].label"),
    Bad("chapter a number", ORD, {"payload.lines[0].chapter": 3}, "payload.lines[0].chapter"),
    Bad("discount a float", ORD, {"payload.discounts[0].amount_incl_tax": 5.0}, "payload.discounts[0].amount_incl_tax"),
    Bad("discounts an object", ORD, {"payload.discounts": {"amount_incl_tax": "5.00"}}, "payload.discounts"),
    Bad("breakdown not adding up to the total", ORD,
        {"payload.vat_breakdown[0].base": "22.73", "payload.vat_breakdown[0].vat": "4.54"},
        BREAKDOWN_OK, schema=False),
    Bad("breakdown computed without the discount", ORD,
        {"payload.vat_breakdown[0].base": "24.98", "payload.vat_breakdown[0].vat": "5.00"},
        BREAKDOWN_OK, schema=False),
    Bad("breakdown rate above its lines", ORD,
        {"payload.vat_breakdown[0].base": "25.22", "payload.vat_breakdown[0].vat": "5.04",
         "payload.vat_breakdown[2].base": "7.60", "payload.vat_breakdown[2].vat": "0.76"},
        "payload.vat_breakdown[0]", schema=False),
    Bad("breakdown vat two cents off on one line", ORD,
        {"payload.vat_breakdown[1].base": "10.84", "payload.vat_breakdown[1].vat": "0.62"},
        "payload.vat_breakdown[1].vat", schema=False),
    Bad("discount larger than the lines", ORD,
        {"payload.discounts[0].amount_incl_tax": "60.00", "payload.total_incl_tax": "-4.92",
         "payload.vat_breakdown": DELETE}, "payload.discounts", schema=False),
    Bad("gift card line with VAT", ORD, {"payload.lines[0].kind": "gift_card"}, "payload.lines[0].vat_rate",
        schema=False),
    Bad("breakdown rate twice", ORD, {"payload.vat_breakdown[2].rate": "20"}, "payload.vat_breakdown[2].rate",
        schema=False),
    Bad("breakdown rate without lines", ORD, {"payload.vat_breakdown[1].rate": "2.1"}, "payload.vat_breakdown[1].rate",
        schema=False),
    Bad("breakdown missing a rate", ORD, {"payload.vat_breakdown[2]": DELETE}, BREAKDOWN_OK, schema=False),
    Bad("breakdown amount a float", ORD, {"payload.vat_breakdown[1].vat": 0.6}, "payload.vat_breakdown[1].vat"),
    Bad("total not lines minus discounts", ORD, {"payload.total_incl_tax": "50.09"}, "payload.total_incl_tax",
        schema=False),
    Bad("total missing", ORD, {"payload.total_incl_tax": DELETE}, "payload.total_incl_tax"),
    Bad("discount on lines adding up to zero", ORD,
        {"payload.lines[1].total_incl_tax": "-29.98", "payload.lines[1].vat_rate": "20", "payload.lines[2]": DELETE,
         "payload.total_incl_tax": "-5.00"}, "payload.discounts", schema=False),
    # payment.recorded
    Bad("payment amount a float", PAY, {"payload.amount": 30.0}, "payload.amount"),
    Bad("payment method missing", PAY, {"payload.method_id": DELETE}, "payload.method_id"),
    Bad("payment order_id empty", PAY, {"payload.order_id": ""}, "payload.order_id"),
    Bad("payment date missing", PAY, {"payload.business_date": DELETE}, "payload.business_date"),
    Bad("payment currency too long", PAY, {"payload.currency": "EURO"}, "payload.currency"),
    # register.closed
    Bad("z_number a string", CLO, {"payload.z_number": "452"}, "payload.z_number"),
    Bad("z_number negative", CLO, {"payload.z_number": -1}, "payload.z_number"),
    Bad("z_number a boolean", CLO, {"payload.z_number": True}, "payload.z_number"),
    Bad("opened_at without offset", CLO, {"payload.opened_at": "2026-03-14T08:58:00"}, "payload.opened_at"),
    Bad("closed before opened", CLO, {"payload.closed_at": "2026-03-14T08:00:00+01:00"}, "payload.closed_at",
        schema=False),
    Bad("receipt counted not an amount", CLO, {"payload.receipts[0].counted": "568.2x"}, "payload.receipts[0].counted"),
    Bad("receipts missing", CLO, {"payload.receipts": DELETE}, "payload.receipts"),
    Bad("receipt method twice", CLO, {"payload.receipts[1].method_id": "cash"}, "payload.receipts[1].method_id",
        schema=False),
    Bad("sales total a float", CLO, {"payload.sales_total_incl_tax": 1234.5}, "payload.sales_total_incl_tax"),
    # reference.updated
    Bad("payment method kind unknown", REF, {"payload.payment_methods[1].kind": "credit"},
        "payload.payment_methods[1].kind"),
    Bad("reference rate a number", REF, {"payload.vat_rates[0].rate": 20}, "payload.vat_rates[0].rate"),
    Bad("register without name", REF, {"payload.registers[0].name": DELETE}, "payload.registers[0].name"),
    Bad("chapter account not digits", REF, {"payload.chapters[0].account": "70A"}, "payload.chapters[0].account"),
    Bad("chapters_enabled a string", REF, {"payload.chapters_enabled": "yes"}, "payload.chapters_enabled"),
    Bad("vat_rates missing", REF, {"payload.vat_rates": DELETE}, "payload.vat_rates"),
    Bad("register id twice", REF, {"payload.registers[1].id": "r1"}, "payload.registers[1].id", schema=False),
]
