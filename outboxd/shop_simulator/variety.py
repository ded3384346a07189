"""The tickets a real POS also prints (``simulate_shop(variety=True)``), each a case contract 1.1 must book.

- A discount whose last cent ties between two rates: the POS breaks the tie the other way from the bridge's
  largest-remainder spread (which gives it to the larger gross, then the higher rate) and prints that.
- A discount on one line only: the POS prints all of it on that line's rate.
- A gift card sold: a line of kind ``gift_card`` at 0 % (no VAT, not revenue), printed on a 0 % row; the card is
  spent on later tickets as a payment of the shop's gift card method.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from outboxd.money import format_cents, parse_amount, parse_rate, round_half_up_div, spread_discount
from outboxd.shop_simulator.catalog import GIFT_CARD_VALUES, Product
from outboxd.shop_simulator.tickets import gross_by_rate, printed, ticket_line

__all__ = ["gift_card_sale", "line_discount", "tied_discount"]

_QUANTITIES = (1, 1, 2, 3)
_LINE_PERCENTS = (10, 20, 30, 50)
_ATTEMPTS = 100


def tied_discount(rng: random.Random, head: dict[str, Any], products: Sequence[Product]) -> dict[str, Any] | None:
    """Two lines at two rates and a discount (at most a fifth of them) whose last cent ties between the rates,
    printed with the cent on the rate the bridge would not have chosen; None when no draw ties.

    With two rates the shares' exact fractions add up to a whole cent, so they tie only when each is half a cent.
    """
    for _ in range(_ATTEMPTS):
        first, second = rng.sample(products, 2)
        if first.vat_rate == second.vat_rate:
            continue
        lines = [ticket_line(first, rng.choice(_QUANTITIES)), ticket_line(second, rng.choice(_QUANTITIES))]
        gross = gross_by_rate(lines)
        total, amount = sum(gross.values()), next(iter(gross.values()))
        ties = [d for d in range(1, total // 5 + 1) if 2 * (d * amount % total) == total]
        if not ties:
            continue
        discount = rng.choice(ties)
        shares = spread_discount(gross, discount)
        floors = {rate: discount * gross[rate] // total for rate in gross}
        for rate in gross:  # the cent moves from the rate the bridge gave it to the other one
            shares[rate] += -1 if shares[rate] > floors[rate] else 1
        discounts = [{"label": "Remise commerciale", "amount_incl_tax": format_cents(discount)}]
        return printed(head, lines, discounts, shares)
    return None


def line_discount(rng: random.Random, head: dict[str, Any], products: Sequence[Product]) -> dict[str, Any]:
    """Two to four lines at two rates or more, one of them discounted by a percentage, printed on its rate only."""
    while True:
        lines = [ticket_line(rng.choice(products), rng.choice(_QUANTITIES)) for _ in range(rng.randint(2, 4))]
        if len({line["vat_rate"] for line in lines}) > 1:
            break
    target = rng.choice(lines)
    percent = rng.choice(_LINE_PERCENTS)
    amount = round_half_up_div(parse_amount(str(target["total_incl_tax"])) * percent, 100)
    shares = dict.fromkeys(gross_by_rate(lines), 0)
    shares[parse_rate(str(target["vat_rate"]))] = amount
    discounts = [{"label": f"Remise {percent} % {target['label']}", "amount_incl_tax": format_cents(amount)}]
    return printed(head, lines, discounts, shares)


def gift_card_sale(rng: random.Random, head: dict[str, Any], products: Sequence[Product]) -> tuple[dict[str, Any], int]:
    """A gift card (sometimes with an article beside it), and the card's value in cents."""
    value = rng.choice(GIFT_CARD_VALUES)
    card = {"label": f"Carte cadeau {value // 100} €", "quantity": "1", "total_incl_tax": format_cents(value),
            "vat_rate": "0", "kind": "gift_card", "chapter": None}
    lines: list[dict[str, Any]] = [card]
    if rng.random() < 0.4:
        lines.append(ticket_line(rng.choice(products), 1))
    return printed(head, lines, [], dict.fromkeys(gross_by_rate(lines), 0)), value
