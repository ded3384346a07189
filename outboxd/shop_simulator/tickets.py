"""One simulated ticket: lines, discount, the VAT breakdown the POS prints, and the payments that settle it.

The arithmetic is the contract's: discounts spread over rates by gross amount (``money.spread_discount``),
then per rate VAT = round_half_up(net x r / (100 + r)) and base = net - VAT, all in integer cents.
"""

from __future__ import annotations

import random
from typing import Any

from outboxd.money import format_cents, format_rate, parse_amount, parse_rate, round_half_up_div, spread_discount
from outboxd.shop_simulator.catalog import METHODS, PRODUCTS

__all__ = ["order_payload", "payments_for", "vat_breakdown"]

_METHOD_IDS = tuple(m[0] for m in METHODS)
_METHOD_WEIGHTS = tuple(m[3] for m in METHODS)
_LINE_COUNTS = (1, 1, 2, 2, 3, 3, 4, 5)
_QUANTITIES = (1, 1, 1, 2, 3)


def vat_breakdown(gross_by_rate: dict[int, int], discount_cents: int) -> list[dict[str, str]]:
    """The breakdown a POS prints: one row per rate, on the net amount after the discount share."""
    shares = spread_discount(gross_by_rate, discount_cents)
    rows = []
    for rate, gross in gross_by_rate.items():
        net = gross - shares[rate]
        vat = round_half_up_div(net * rate, 1000 + rate)
        rows.append({"rate": format_rate(rate), "base": format_cents(net - vat), "vat": format_cents(vat)})
    return rows


def _discount(rng: random.Random, gross: int) -> dict[str, str]:
    percent = rng.choice((5, 10, 0))
    if percent:
        amount = round_half_up_div(gross * percent, 100)
        return {"label": f"Remise {percent} %", "amount_incl_tax": format_cents(amount)}
    fixed = rng.choice((100, 200, 500))
    return {"label": "Remise fidélité", "amount_incl_tax": format_cents(min(fixed, gross // 2))}


def order_payload(rng: random.Random, head: dict[str, Any], *, credit_note: bool) -> dict[str, Any]:
    """``head`` carries order_id, number, register_id, business_date and customer; the rest is drawn here."""
    sign = -1 if credit_note else 1
    lines = []
    gross_by_rate: dict[int, int] = {}
    for _ in range(rng.choice(_LINE_COUNTS[:3] if credit_note else _LINE_COUNTS)):
        product = rng.choice(PRODUCTS)
        quantity = sign * rng.choice(_QUANTITIES)
        total = product.unit_cents * quantity
        rate = parse_rate(product.vat_rate)
        gross_by_rate[rate] = gross_by_rate.get(rate, 0) + total
        lines.append({"label": product.label, "quantity": str(quantity), "total_incl_tax": format_cents(total),
                      "vat_rate": product.vat_rate, "kind": product.kind, "chapter": product.chapter})
    gross = sum(gross_by_rate.values())
    discounts = [] if credit_note or rng.random() >= 0.10 else [_discount(rng, gross)]
    discount = sum(parse_amount(d["amount_incl_tax"]) for d in discounts)
    return {**head, "currency": "EUR", "lines": lines, "discounts": discounts,
            "vat_breakdown": vat_breakdown(gross_by_rate, discount), "total_incl_tax": format_cents(gross - discount)}


def payments_for(rng: random.Random, total_cents: int) -> list[tuple[str, int]]:
    """(method_id, cents) pairs settling the ticket: a refund in cash or card, ~15 % of tickets split in two."""
    if total_cents < 0:
        return [(rng.choice(("cash", "cb")), total_cents)]
    first = rng.choices(_METHOD_IDS, _METHOD_WEIGHTS)[0]
    if total_cents < 200 or rng.random() >= 0.15:
        return [(first, total_cents)]
    second = rng.choice([m for m in _METHOD_IDS if m != first])
    part = max(100, (rng.randint(1, total_cents - 1) // 100) * 100)
    if part >= total_cents:
        part = total_cents // 2
    return [(first, part), (second, total_cents - part)]
