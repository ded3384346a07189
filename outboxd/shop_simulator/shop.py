"""A simulated Kash.Click shop: the outbox rows it writes over some business days, in the order it writes them.

Deterministic for a seed: one ``random.Random(seed)``, no clock, event ids derived with uuid5 from
shop, seed and a counter. Each day: the transfers settling tickets bought on account that fall due, tickets on
every register (each followed by its payments), then one ``register.closed`` per register whose receipts are that
register's payments of the day per method. A ticket bought on account (``on_account``: a share of the tickets
with a known customer) is paid by transfer 1 to 14 days later, or stays open when the simulation ends first.
With ``variety`` the shop also prints the tickets of ``variety.py`` (a discount tie broken the POS's way, a
discount on one line, gift cards sold, then spent on later days) and sells chapters at two rates.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from typing import Any

from outboxd.money import format_cents, parse_amount
from outboxd.shop_simulator.catalog import (
    CITIES,
    COMPANIES,
    FIRST_NAMES,
    GIFT_CARD_METHOD,
    LAST_NAMES,
    PRODUCTS,
    VARIETY_PRODUCTS,
    reference,
)
from outboxd.shop_simulator.tickets import order_payload, payments_for
from outboxd.shop_simulator.variety import gift_card_sale, line_discount, tied_discount

__all__ = ["paris_offset", "simulate_shop"]

_NAMESPACE = uuid.UUID("6f1d3c1e-8a51-4c0e-9d0c-0b7f3b2a9e10")
_OPEN_MS = 9 * 3_600_000  # the shop opens at 09:00 and the day's tickets spread over about 10 hours
_DAY_MS = 10 * 3_600_000
_PAID_WITHIN = 14
"""Days within which a ticket bought on account is paid by transfer."""
_GIFT_CARD_SALE, _TIED_DISCOUNT, _LINE_DISCOUNT = 0.05, 0.10, 0.15
"""With variety: the cumulative shares of tickets that sell a gift card, tie a discount's cent, discount one line."""
_SPEND_CARD = 0.4
"""With variety: the share of tickets paid (in part) with a gift card, while cards sold on earlier days remain."""


def _last_sunday(year: int, month: int) -> dt.date:
    day = dt.date(year, month, 31)
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)


def paris_offset(day: dt.date) -> str:
    """France's UTC offset during opening hours: +02:00 from the last Sunday of March to that of October."""
    summer = _last_sunday(day.year, 3) <= day < _last_sunday(day.year, 10)
    return "+02:00" if summer else "+01:00"


class _Shop:
    """The running state of one simulation: counters, known customers, today's per-register totals."""

    def __init__(self, shop_id: str, seed: int, registers: int, on_account: float, variety: bool) -> None:
        self.shop_id, self.seed, self.registers, self.on_account = shop_id, seed, registers, on_account
        self.variety = variety
        self.products = VARIETY_PRODUCTS if variety else PRODUCTS
        self.cards: list[tuple[dt.date, int]] = []
        """Gift cards sold and not spent yet, oldest first: (day sold, balance in cents)."""
        self.rng = random.Random(seed)
        self.events = self.orders = self.tickets = self.credit_notes = self.payments = 0
        self.customers: list[dict[str, Any]] = []
        self.z_numbers = [0] * registers
        self.owed: dict[dt.date, list[tuple[int, str, int]]] = {}
        """Tickets bought on account, by the day their transfer comes: (register index, order_id, cents)."""

    def row(self, event_type: str, aggregate_id: str, occurred_at: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.events += 1
        event_id = uuid.uuid5(_NAMESPACE, f"{self.shop_id}:{self.seed}:{self.events}")
        return {"event_id": str(event_id), "shop_id": self.shop_id, "event_type": event_type,
                "aggregate_id": aggregate_id, "occurred_at": occurred_at, "payload": payload}

    def customer(self) -> dict[str, Any] | None:
        rng = self.rng
        if rng.random() < 0.70:
            return None
        if self.customers and rng.random() < 0.7:
            known = rng.choice(self.customers)
        else:
            known = self._new_customer()
            self.customers.append(known)
        return {**known, "address": dict(known["address"])}

    def _new_customer(self) -> dict[str, Any]:
        rng, number = self.rng, len(self.customers) + 1
        postal_code, city = rng.choice(CITIES)
        address = {"address": f"{rng.randint(1, 120)} rue du Commerce", "postal_code": postal_code, "city": city,
                   "country_alpha2": "FR"}
        if rng.random() < 0.75:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            return {"id": f"c-{number}", "type": "individual", "first_name": first, "last_name": last, "name": None,
                    "email": f"{first}.{last}{number}@example.org".lower(), "vat_number": None, "reg_no": None,
                    "address": address}
        siren = f"{rng.randrange(10**8, 10**9)}"
        return {"id": f"c-{number}", "type": "company", "first_name": None, "last_name": None,
                "name": rng.choice(COMPANIES), "email": None, "vat_number": f"FR{rng.randrange(10, 100)}{siren}",
                "reg_no": siren, "address": address}

    def day(self, date: dt.date, orders: int) -> Iterator[dict[str, Any]]:
        rng, offset, business_date = self.rng, paris_offset(date), date.isoformat()
        clock = _OPEN_MS
        slot = _DAY_MS // max(1, orders)  # each ticket and its payments happen within their own slot
        unit = 1000 if slot >= 16_000 else 1  # whole seconds unless the shop is very busy
        sales = [0] * self.registers
        receipts: list[dict[str, int]] = [{} for _ in range(self.registers)]

        def pay(index: int, order_id: str, method_id: str, cents: int, occurred_at: str) -> dict[str, Any]:
            self.payments += 1
            receipts[index][method_id] = receipts[index].get(method_id, 0) + cents
            payment = {"payment_id": f"p-{self.payments}", "order_id": order_id, "register_id": f"r{index + 1}",
                       "business_date": business_date, "method_id": method_id, "amount": format_cents(cents),
                       "currency": "EUR"}
            return self.row("payment.recorded", f"order:{order_id}", occurred_at, payment)

        def at(ms: int) -> str:
            seconds, millis = divmod(ms, 1000)
            minutes, second = divmod(seconds, 60)
            hour, minute = divmod(minutes, 60)
            fraction = f".{millis:03d}" if millis else ""
            return f"{business_date}T{hour:02d}:{minute:02d}:{second:02d}{fraction}{offset}"

        def tick(earliest: int, spread: int) -> str:
            nonlocal clock
            clock = max(clock + unit, earliest + unit * rng.randrange(max(1, spread // unit)))
            return at(clock)

        for index, order_id, cents in self.owed.pop(date, []):
            yield pay(index, order_id, "vir", cents, tick(clock, unit))
        for n in range(orders):
            index = rng.randrange(self.registers)
            register_id = f"r{index + 1}"
            self.orders += 1
            order_id = f"o-{self.orders}"
            credit_note = rng.random() < 0.02
            if credit_note:
                self.credit_notes += 1
                number = f"A-{self.credit_notes:06d}"
            else:
                self.tickets += 1
                number = f"T-{self.tickets:06d}"
            head = {"order_id": order_id, "number": number, "register_id": register_id,
                    "business_date": business_date, "customer": self.customer()}
            payload = self.ticket(date, head, credit_note)
            yield self.row("order.recorded", f"order:{order_id}", tick(_OPEN_MS + n * slot, slot // 4), payload)
            total = parse_amount(payload["total_incl_tax"])
            sales[index] += total
            if self.on_account and head["customer"] and total > 0 and rng.random() < self.on_account:
                due = date + dt.timedelta(days=rng.randint(1, _PAID_WITHIN))
                self.owed.setdefault(due, []).append((index, order_id, total))
                continue
            card = self.spend_card(date, payload)
            payments = [(GIFT_CARD_METHOD[0], card)] if card else []
            if not card or total > card:
                payments += payments_for(rng, total - card)
            for method_id, cents in payments:
                yield pay(index, order_id, method_id, cents, tick(clock, slot // 8))
        for index in range(self.registers):
            self.z_numbers[index] += 1
            register_id, z_number = f"r{index + 1}", self.z_numbers[index]
            clock = max(clock, _OPEN_MS + _DAY_MS) + 60_000
            closing = {"closing_id": f"z-{register_id}-{z_number}", "register_id": register_id, "z_number": z_number,
                       "business_date": business_date, "opened_at": at(_OPEN_MS - 300_000 + 60_000 * index),
                       "closed_at": at(clock), "sales_total_incl_tax": format_cents(sales[index]),
                       "receipts": [self._receipt(method_id, cents) for method_id, cents in receipts[index].items()]}
            yield self.row("register.closed", f"register:{register_id}", at(clock), closing)

    def ticket(self, date: dt.date, head: dict[str, Any], credit_note: bool) -> dict[str, Any]:
        """The order's payload: a plain ticket, or with variety now and then one of ``variety.py``'s."""
        rng = self.rng
        draw = rng.random() if self.variety and not credit_note else 1.0
        if draw < _GIFT_CARD_SALE:
            payload, value = gift_card_sale(rng, head, self.products)
            self.cards.append((date, value))
            return payload
        if draw < _TIED_DISCOUNT and (tied := tied_discount(rng, head, self.products)) is not None:
            return tied
        if _TIED_DISCOUNT <= draw < _LINE_DISCOUNT:
            return line_discount(rng, head, self.products)
        return order_payload(rng, head, credit_note=credit_note, products=self.products)

    def spend_card(self, date: dt.date, payload: dict[str, Any]) -> int:
        """What a gift card sold on an earlier day pays of this ticket (0: none); the card keeps what it has left."""
        total = parse_amount(payload["total_incl_tax"])
        if not self.cards or self.cards[0][0] >= date or total <= 0:
            return 0
        if any(line["kind"] == "gift_card" for line in payload["lines"]) or self.rng.random() >= _SPEND_CARD:
            return 0
        sold, balance = self.cards.pop(0)
        spent = min(balance, total)
        if balance > spent:
            self.cards.insert(0, (sold, balance - spent))
        return spent

    def _receipt(self, method_id: str, expected: int) -> dict[str, str]:
        counted = expected
        if method_id == "cash" and self.rng.random() < 0.05:
            counted += self.rng.choice((-1, 1)) * self.rng.randint(10, 500)
        return {"method_id": method_id, "expected": format_cents(expected), "counted": format_cents(counted)}


def simulate_shop(shop_id: str, *, days: int, orders_per_day: int, registers: int, seed: int,
                  start: dt.date, on_account: float = 0.0, variety: bool = False) -> Iterator[dict[str, Any]]:
    """Rows as Kash.Click writes them (payload as a dict), ``occurred_at`` increasing.

    A ``reference.updated`` snapshot first, then ``days`` business days from ``start``, each with
    ``orders_per_day`` tickets spread over the registers and one closing per register. ``on_account``: the share
    of tickets with a known customer bought on account; ``variety``: the tickets of ``variety.py`` too, and the
    gift card method in the reference (0 and False keep a seed's events as they always were).
    """
    if days < 0 or orders_per_day < 0 or registers < 1 or not 0 <= on_account <= 1:
        raise ValueError("days and orders_per_day must be >= 0, registers >= 1 and on_account within 0..1")
    shop = _Shop(shop_id, seed, registers, on_account, variety)
    opening = f"{start.isoformat()}T08:00:00{paris_offset(start)}"
    yield shop.row("reference.updated", "reference", opening, reference(registers, gift_cards=variety))
    for n in range(days):
        yield from shop.day(start + dt.timedelta(days=n), orders_per_day)
