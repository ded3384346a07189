"""A ticket's arithmetic: net amount incl. VAT per rate, then base and VAT per rate, exact to the cent.

Discounts are spread over the rates first (``outboxd.money.spread_discount``); VAT is then computed once per
rate on the net amount, never on the gross and the discount separately (that is a cent off on real tickets).
When the ticket carries its printed breakdown, that breakdown is booked as printed (contract 1.1: the contract
parser has refused what cannot be a real ticket); a difference from the bridge's own spread is a note.
"""

from __future__ import annotations

from dataclasses import dataclass

from outboxd.contract.models import OrderRecorded
from outboxd.exceptions import BookingError
from outboxd.money import format_cents, format_rate, round_half_up_div, spread_discount

__all__ = ["RateTotals", "rate_totals", "split_by_weight"]


@dataclass(frozen=True, slots=True)
class RateTotals:
    """One VAT rate of a ticket: ``net`` incl. VAT after discounts = ``base`` + ``vat``, all in cents."""

    rate: int
    net: int
    base: int
    vat: int


def split_by_weight(total: int, weights: list[int]) -> list[int]:
    """``total`` shared in proportion to ``weights``, largest remainder to the cent, summing exactly to ``total``."""
    if len(weights) == 1:
        return [total]
    if sum(weights) == 0:
        if total:
            raise ValueError("cannot share an amount over weights that add up to zero")
        return [0] * len(weights)
    shares = spread_discount(dict(enumerate(weights)), total)
    return [shares[index] for index in range(len(weights))]


def _net_by_rate(order: OrderRecorded) -> dict[int, int]:
    gross: dict[int, int] = {}
    for line in order.lines:
        gross[line.vat_rate] = gross.get(line.vat_rate, 0) + line.total_incl_tax
    discount = sum(d.amount_incl_tax for d in order.discounts)
    if not discount:
        return gross
    try:
        shares = spread_discount(gross, discount)
    except ValueError:
        raise BookingError(
            f"ticket {order.number}",
            "a discount on a ticket whose lines add up to zero",
            "Kash.Click must not send such a ticket; fix it there",
        ) from None
    return {rate: amount - shares[rate] for rate, amount in gross.items()}


def rate_totals(order: OrderRecorded) -> tuple[list[RateTotals], str | None]:
    """Net, base and VAT per rate, in the order the rates first appear on the ticket (zero rates dropped), and a
    note when the printed breakdown spread the discounts otherwise than the bridge would have (booked as printed).
    """
    net = _net_by_rate(order)
    if sum(net.values()) != order.total_incl_tax:
        raise BookingError(
            f"ticket {order.number}",
            f"lines minus discounts make {format_cents(sum(net.values()))}, "
            f"the ticket says {format_cents(order.total_incl_tax)}",
            "the ticket is inconsistent; fix it in Kash.Click",
        )
    if order.vat_breakdown is None:
        totals = []
        for rate, amount in net.items():
            vat = round_half_up_div(amount * rate, 1000 + rate)
            totals.append(RateTotals(rate, amount, amount - vat, vat))
        return [t for t in totals if t.net or t.base or t.vat], None
    printed = {row.rate: row for row in order.vat_breakdown}
    unknown = [rate for rate in printed if rate not in net]
    printed_total = sum(row.base + row.vat for row in order.vat_breakdown)
    if len(printed) != len(order.vat_breakdown) or unknown or printed_total != order.total_incl_tax:
        raise BookingError(
            f"ticket {order.number}",
            f"vat_breakdown makes {format_cents(printed_total)} (the ticket says "
            f"{format_cents(order.total_incl_tax)}), or lists a rate twice or a rate no line has",
            "the ticket is inconsistent; fix it in Kash.Click",
        )
    totals = [
        RateTotals(rate, row.base + row.vat, row.base, row.vat)
        for rate in net
        if (row := printed.get(rate)) is not None and (row.base or row.vat)
    ]
    differences = [
        f"{format_rate(rate)} % printed {format_cents(printed_net)}, spread {format_cents(net[rate])}"
        for rate in net
        if (printed_net := sum(t.net for t in totals if t.rate == rate)) != net[rate]
    ]
    note = None
    if differences:
        note = (
            f"ticket {order.number}: the printed VAT breakdown spreads the discounts otherwise than the bridge "
            f"({'; '.join(differences)}); booked as printed"
        )
    return totals, note
