"""One simulated ticket: lines, discount, the VAT breakdown the POS prints, and the payments that settle it.

The arithmetic is the contract's: discounts spread over rates by gross amount (``money.spread_discount``),
then per rate VAT = round_half_up(net x r / (100 + r)) and base = net - VAT, all in integer cents. A POS may
spread a discount otherwise (``printed``: contract 1.1 books its breakdown as printed).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from outboxd.money import format_cents, format_rate, parse_amount, parse_rate, round_half_up_div, spread_discount
from outboxd.shop_simulator.catalog import METHODS, PRODUCTS, Product

__all__ = ["gross_by_rate", "order_payload", "payments_for", "printed", "ticket_line", "vat_breakdown"]

_METHOD_IDS = tuple(m[0] for m in METHODS)
_METHOD_WEIGHTS = tuple(m[3] for m in METHODS)
_LINE_COUNTS = (1, 1, 2, 2, 3, 3, 4, 5)
_QUANTITIES = (1, 1, 1, 2, 3)


def vat_breakdown(gross_by_rate: dict[int, int], discount_cents: int) -> list[dict[str, str]]:
    """The breakdown a POS prints: one row per rate, on the net amount after the discount share."""
    return _rows(gross_by_rate, spread_discount(gross_by_rate, discount_cents))


def _rows(gross: dict[int, int], shares: dict[int, int]) -> list[dict[str, str]]:
    rows = []
    for rate, amount in gross.items():
        net = amount - shares[rate]
        vat = round_half_up_div(net * rate, 1000 + rate)
        rows.append({"rate": format_rate(rate), "base": format_cents(net - vat), "vat": format_cents(vat)})
    return rows


def ticket_line(product: Product, quantity: int) -> dict[str, str | None]:
    total = format_cents(product.unit_cents * quantity)
    return {"label": product.label, "quantity": str(quantity), "total_incl_tax": total, "vat_rate": product.vat_rate,
            "kind": product.kind, "chapter": product.chapter}


def gross_by_rate(lines: Sequence[dict[str, Any]]) -> dict[int, int]:
    """The lines' amounts per rate, in the order the rates first appear."""
    gross: dict[int, int] = {}
    for line in lines:
        rate = parse_rate(line["vat_rate"])
        gross[rate] = gross.get(rate, 0) + parse_amount(line["total_incl_tax"])
    return gross


def printed(head: dict[str, Any], lines: list[dict[str, Any]], discounts: list[dict[str, str]],
            shares: dict[int, int]) -> dict[str, Any]:
    """The order's payload when the POS gave each rate ``shares[rate]`` of the discounts (its printed breakdown)."""
    gross = gross_by_rate(lines)
    total = sum(gross.values()) - sum(parse_amount(d["amount_incl_tax"]) for d in discounts)
    return {**head, "currency": "EUR", "lines": lines, "discounts": discounts, "vat_breakdown": _rows(gross, shares),
            "total_incl_tax": format_cents(total)}


def _discount(rng: random.Random, gross: int) -> dict[str, str]:
    percent = rng.choice((5, 10, 0))
    if percent:
        amount = round_half_up_div(gross * percent, 100)
        return {"label": f"Remise {percent} %", "amount_incl_tax": format_cents(amount)}
    fixed = rng.choice((100, 200, 500))
    return {"label": "Remise fidélité", "amount_incl_tax": format_cents(min(fixed, gross // 2))}


def order_payload(rng: random.Random, head: dict[str, Any], *, credit_note: bool,
                  products: Sequence[Product] = PRODUCTS) -> dict[str, Any]:
    """``head`` carries order_id, number, register_id, business_date and customer; the rest is drawn here."""
    sign = -1 if credit_note else 1
    lines = [ticket_line(rng.choice(products), sign * rng.choice(_QUANTITIES))
             for _ in range(rng.choice(_LINE_COUNTS[:3] if credit_note else _LINE_COUNTS))]
    gross = gross_by_rate(lines)
    discounts = [] if credit_note or rng.random() >= 0.10 else [_discount(rng, sum(gross.values()))]
    discount = sum(parse_amount(d["amount_incl_tax"]) for d in discounts)
    return printed(head, lines, discounts, spread_discount(gross, discount))


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
