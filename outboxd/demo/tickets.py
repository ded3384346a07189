"""The demo's tickets beyond the simulated history: live ones as the shop sells, and one that cannot be booked.

Live tickets get their own order ids and numbers (``L-``) so they never meet the history's piece_numbers. The
poison ticket (a code name: nothing of it reaches Pennylane) sells at 8.5 % VAT (the French overseas rate): a valid
contract event that the default mapping refuses (``mapping.vat_rates`` lacks it), with its payment waiting behind it
in the same aggregate. It is part of its day's business: :func:`add_to_closing` counts it in its register's Z.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from outboxd.money import format_cents, parse_amount
from outboxd.shop_simulator.shop import paris_offset
from outboxd.shop_simulator.tickets import order_payload, payments_for, vat_breakdown

__all__ = ["POISON_ORDER", "POISON_RATE", "add_to_closing", "live_ticket", "poison_ticket"]

POISON_RATE = "8.5"
POISON_ORDER = "dom-0001"
POISON_CENTS = 1085


def _row(shop_id: str, event_type: str, aggregate_id: str, at: dt.datetime, payload: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "shop_id": shop_id, "event_type": event_type, "aggregate_id": aggregate_id,
            "occurred_at": at.isoformat(timespec="seconds"), "payload": payload}  # fmt: skip


def _local_now() -> dt.datetime:
    """Now, in Paris time as Kash.Click writes it (the simulator's offset rule)."""
    today = dt.datetime.now(dt.UTC).date()
    offset = paris_offset(today)
    hours = int(offset[1:3]) * (1 if offset[0] == "+" else -1)
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=hours))).replace(microsecond=0)


def _payments(
    shop_id: str, order: dict[str, Any], cents: list[tuple[str, int]], at: dt.datetime
) -> list[dict[str, Any]]:
    order_id = order["order_id"]
    return [
        _row(shop_id, "payment.recorded", f"order:{order_id}", at, {
            "payment_id": f"{order_id}-p{n}", "order_id": order_id, "register_id": order["register_id"],
            "business_date": order["business_date"], "method_id": method_id, "amount": format_cents(amount),
            "currency": "EUR"})
        for n, (method_id, amount) in enumerate(cents, 1)
    ]  # fmt: skip


def live_ticket(shop_id: str, run: str, number: int, rng: random.Random, *, registers: int = 2) -> list[dict[str, Any]]:
    """A ticket sold now and the payments that settle it (outbox rows, payload as a dict).

    ``run`` tells demo runs apart, so that their tickets never share a number (hence a piece_number).
    """
    at = _local_now()
    register_id = f"r{rng.randrange(registers) + 1}"
    head = {"order_id": f"live-{run}-{number}", "number": f"L{run}-{number:05d}", "register_id": register_id,
            "business_date": at.date().isoformat(), "customer": None}  # fmt: skip
    order = order_payload(rng, head, credit_note=False)
    total = int(order["total_incl_tax"].replace(".", ""))
    rows = [_row(shop_id, "order.recorded", f"order:{head['order_id']}", at, order)]
    return rows + _payments(shop_id, order, payments_for(rng, total), at + dt.timedelta(seconds=1))


def poison_ticket(shop_id: str, business_date: dt.date, *, register_id: str = "r1") -> list[dict[str, Any]]:
    """One 10.85 EUR ticket at 8.5 % VAT, paid by card: the order fails to book, its payment waits behind it."""
    at = dt.datetime.fromisoformat(f"{business_date.isoformat()}T12:30:00{paris_offset(business_date)}")
    total = format_cents(POISON_CENTS)
    order = {"order_id": POISON_ORDER, "number": "DOM-0001", "register_id": register_id,
             "business_date": business_date.isoformat(), "customer": None, "currency": "EUR",
             "lines": [{"label": "Rhum arrangé (DOM)", "quantity": "1", "total_incl_tax": total,
                        "vat_rate": POISON_RATE, "kind": "goods", "chapter": None}],
             "discounts": [], "vat_breakdown": vat_breakdown({85: POISON_CENTS}, 0),
             "total_incl_tax": total}  # fmt: skip
    rows = [_row(shop_id, "order.recorded", f"order:{POISON_ORDER}", at, order)]
    return rows + _payments(shop_id, order, [("cb", POISON_CENTS)], at + dt.timedelta(minutes=1))


def add_to_closing(rows: list[dict[str, Any]], business_date: dt.date, *, register_id: str = "r1") -> None:
    """Count the poison ticket in the Z of its register and day (sales, and the card receipts expected and counted),
    so that once it is booked every closing matches its payments."""
    day = business_date.isoformat()
    (closing,) = [r["payload"] for r in rows if r["event_type"] == "register.closed"
                  and r["payload"]["register_id"] == register_id and r["payload"]["business_date"] == day]  # fmt: skip
    closing["sales_total_incl_tax"] = _plus(closing["sales_total_incl_tax"])
    receipts = closing["receipts"]
    card = next((r for r in receipts if r["method_id"] == "cb"), None)
    if card is None:
        receipts.append({"method_id": "cb", "expected": format_cents(0), "counted": format_cents(0)})
        card = receipts[-1]
    card["expected"], card["counted"] = _plus(card["expected"]), _plus(card["counted"])


def _plus(amount: str) -> str:
    return format_cents(parse_amount(amount) + POISON_CENTS)
