"""Which of the month's accounting cases a stream of outbox rows holds, read from the rows alone, so that a test
driven by the shop simulator can assert it still meets every case (and never silently loses one).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from outboxd.money import parse_amount, parse_rate, spread_discount

__all__ = ["CASES", "simulated_cases"]

CASES = ("discount_tie", "line_discount", "split_payment", "refund", "paid_later", "left_open", "gift_card_sold",
         "gift_card_spent", "chapter_second_rate")  # fmt: skip


def _printed_shares(order: Mapping[str, Any]) -> tuple[dict[int, int], dict[int, int]] | None:
    """(gross per rate, the discount the printed breakdown gave each rate), for a discounted ticket."""
    if not order.get("discounts") or not order.get("vat_breakdown"):
        return None
    gross: dict[int, int] = defaultdict(int)
    for line in order["lines"]:
        gross[parse_rate(line["vat_rate"])] += parse_amount(line["total_incl_tax"])
    printed = {parse_rate(r["rate"]): parse_amount(r["base"]) + parse_amount(r["vat"]) for r in order["vat_breakdown"]}
    return dict(gross), {rate: amount - printed.get(rate, 0) for rate, amount in gross.items()}


def _discount_case(order: Mapping[str, Any]) -> str | None:
    """``discount_tie``: printed otherwise than the contract's spread, on two rates whose exact shares tie;
    ``line_discount``: the whole discount printed on one rate of a ticket with several."""
    found = _printed_shares(order)
    if found is None:
        return None
    gross, printed = found
    discount = sum(parse_amount(d["amount_incl_tax"]) for d in order["discounts"])
    spread = spread_discount(gross, discount)
    moved = [rate for rate in gross if printed[rate] != spread[rate]]
    total = sum(gross.values())
    fractions = {rate: Fraction(discount * gross[rate], total) % 1 for rate in moved}
    one_cent = sorted(printed[rate] - spread[rate] for rate in moved) == [-1, 1]
    if len(moved) == 2 and len(set(fractions.values())) == 1 and one_cent:
        return "discount_tie"
    on_one_rate = sorted(printed.values()) == [0] * (len(gross) - 1) + [discount]
    if len(gross) > 1 and moved and on_one_rate:
        return "line_discount"
    return None


def simulated_cases(rows: Iterable[Mapping[str, Any]]) -> Counter[str]:
    """How many times each of ``CASES`` occurs (``chapter_second_rate``: tickets selling a chapter at the rate it
    is sold at least, among chapters sold at two rates or more)."""
    cases: Counter[str] = Counter()
    gift_methods: set[str] = set()
    orders: dict[str, Mapping[str, Any]] = {}
    payments: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    chapter_rates: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        payload = row["payload"]
        if row["event_type"] == "reference.updated":
            gift_methods = {m["id"] for m in payload["payment_methods"] if m["kind"] == "gift_card"}
        elif row["event_type"] == "order.recorded":
            orders[payload["order_id"]] = payload
            if case := _discount_case(payload):
                cases[case] += 1
            if any(line["kind"] == "gift_card" for line in payload["lines"]):
                cases["gift_card_sold"] += 1
            for chapter, rate in {(ln["chapter"], ln["vat_rate"]) for ln in payload["lines"] if ln["chapter"]}:
                chapter_rates[chapter][rate] += 1
        elif row["event_type"] == "payment.recorded":
            payments[payload["order_id"]].append(payload)
            cases["refund"] += parse_amount(payload["amount"]) < 0
            cases["gift_card_spent"] += payload["method_id"] in gift_methods
    for order_id, order in orders.items():
        paid = payments.get(order_id, [])
        if not paid and parse_amount(order["total_incl_tax"]):
            cases["left_open"] += 1
        cases["split_payment"] += len(paid) > 1
        cases["paid_later"] += any(p["business_date"] > order["business_date"] for p in paid)
    for rates in chapter_rates.values():
        if len(rates) > 1:
            cases["chapter_second_rate"] += min(rates.values())
    return cases
