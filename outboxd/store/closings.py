"""The Z control's inputs: a shop's delivered closings, and what was delivered for one register and day.

Portable SQL (one text for SQLite and PostgreSQL) without JSON functions: a row that is not valid
JSON may sit in the same table (a contract error), and PostgreSQL does not promise to filter it out before a
cast. Delivered rows were parsed by the contract, so their payloads are read here; an open row is only counted
(one that is not valid JSON yet counts for every register of its day: the control waits rather than guess).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from outboxd.money import parse_amount
from outboxd.store._db import Database
from outboxd.store.models import OPEN_STATES

__all__ = ["Closings", "DeliveredClosing", "RegisterDay"]

_CLOSINGS = (
    "SELECT id, business_date, payload FROM deliveries WHERE shop_id = $1 AND event_type = 'register.closed' "
    "AND state = 'delivered' AND business_date >= $2 ORDER BY business_date DESC, id DESC"
)
_DAY = "SELECT event_type, state, payload FROM deliveries WHERE shop_id = $1 AND business_date = $2"


@dataclass(frozen=True, slots=True)
class DeliveredClosing:
    """One ``register.closed`` booked in Pennylane; ``payload`` is the event's JSON text, as the outbox gave it."""

    delivery_id: int
    register_id: str
    business_date: dt.date
    z_number: int
    payload: str


@dataclass(frozen=True, slots=True)
class RegisterDay:
    """One register's business day as delivered so far: cents per payment method (refunds negative), the tickets'
    total incl. VAT (credit notes negative), and how many of its deliveries are still open (pending, in flight)."""

    payments: dict[str, int]
    sales: int
    open: int


class Closings:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def delivered(self, shop_id: str, since: dt.date) -> list[DeliveredClosing]:
        """The shop's delivered closings from ``since`` on, newest business day first."""
        rows = await self._db.read(_CLOSINGS, (shop_id, since.isoformat()))
        result = []
        for row in rows:
            payload = json.loads(row["payload"])
            result.append(DeliveredClosing(int(row["id"]), str(payload["register_id"]),
                                           dt.date.fromisoformat(row["business_date"]), int(payload["z_number"]),
                                           row["payload"]))  # fmt: skip
        return result

    async def register_day(self, shop_id: str, register_id: str, business_date: dt.date) -> RegisterDay:
        """What was delivered for one register and day, and how many of its deliveries are still open."""
        payments: dict[str, int] = {}
        sales = still_open = 0
        for row in await self._db.read(_DAY, (shop_id, business_date.isoformat())):
            try:
                payload = json.loads(row["payload"])
                register = payload["register_id"]
            except (ValueError, TypeError, KeyError):  # not parsed yet, or not a contract row: it cannot be told apart
                register = register_id
                payload = {}
            if register != register_id:
                continue
            if row["state"] in OPEN_STATES:
                still_open += 1
            elif row["state"] != "delivered":
                continue
            elif row["event_type"] == "payment.recorded":
                method = str(payload["method_id"])
                payments[method] = payments.get(method, 0) + parse_amount(payload["amount"])
            elif row["event_type"] == "order.recorded":
                sales += parse_amount(payload["total_incl_tax"])
        return RegisterDay(payments, sales, still_open)
