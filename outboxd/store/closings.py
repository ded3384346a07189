"""The Z control's inputs: a shop's delivered closings, and the payments delivered for one register and day.

Portable SQL (one text for SQLite and PostgreSQL) without JSON functions: a row that is not valid
JSON may sit in the same table (a contract error), and PostgreSQL does not promise to filter it out before a
cast. Only delivered rows are read, and those were parsed by the contract, so their payloads are read here.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from outboxd.money import parse_amount
from outboxd.store._db import Database

__all__ = ["Closings", "DeliveredClosing"]

_CLOSINGS = (
    "SELECT id, business_date, payload FROM deliveries WHERE shop_id = $1 AND event_type = 'register.closed' "
    "AND state = 'delivered' AND business_date >= $2 ORDER BY business_date DESC, id DESC"
)
_PAYMENTS = (
    "SELECT payload FROM deliveries WHERE shop_id = $1 AND event_type = 'payment.recorded' "
    "AND state = 'delivered' AND business_date = $2"
)


@dataclass(frozen=True, slots=True)
class DeliveredClosing:
    """One ``register.closed`` booked in Pennylane; ``payload`` is the event's JSON text, as the outbox gave it."""

    delivery_id: int
    register_id: str
    business_date: dt.date
    z_number: int
    payload: str


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

    async def delivered_payments(self, shop_id: str, register_id: str, business_date: dt.date) -> dict[str, int]:
        """Cents per payment method of the payments delivered for that register and day (refunds count negative)."""
        by_method: dict[str, int] = {}
        for row in await self._db.read(_PAYMENTS, (shop_id, business_date.isoformat())):
            payment = json.loads(row["payload"])
            if payment["register_id"] == register_id:
                method = str(payment["method_id"])
                by_method[method] = by_method.get(method, 0) + parse_amount(payment["amount"])
        return by_method
