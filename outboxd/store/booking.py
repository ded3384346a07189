"""Booking modes: per shop, detailed (one entry per event) or daily (one entry per register and day) from a date on.

Each switch is kept (``booking_modes``) with its actor and reason, audited; the configuration's mode is written
once, as a switch from ``FIRST_DAY``. A switch decides at once the live register-days already waiting
(``store.register_days`` decides the others as their events come). See docs/backfill.md, "Booking modes".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from outboxd.store._db import Clock, Database, Tx, to_text
from outboxd.store.audit import append_audit
from outboxd.store.deliveries import DAY_OPEN, LIVE
from outboxd.store.register_days import day_statements, register_of

__all__ = ["FIRST_DAY", "BookingMode", "BookingModes", "BookingSwitch", "mode_on"]

BookingMode = Literal["detailed", "daily"]
FIRST_DAY = "0001-01-01"
"""The date the configuration's mode applies from: every business date before the first switch."""


@dataclass(frozen=True, slots=True)
class BookingSwitch:
    """The shop books in ``mode`` from ``from_date`` on (until its next switch)."""

    shop_id: str
    from_date: str
    mode: BookingMode
    actor: str
    reason: str
    changed_at: str


class BookingModes:
    """The switches of each shop."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._reg = register_of(db.dialect, "deliveries")
        self._shop_statements = day_statements(db.dialect, "deliveries.shop_id = $1")

    async def switches(self, shop_id: str) -> list[BookingSwitch]:
        """The shop's switches, oldest date first."""
        rows = await self._db.read(
            "SELECT shop_id, from_date, mode, actor, reason, changed_at FROM booking_modes WHERE shop_id = $1"
            " ORDER BY from_date",
            (shop_id,),
        )
        return [BookingSwitch(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

    async def write_initial(self, shop_id: str, mode: BookingMode) -> bool:
        """The configuration's mode, written once: only for a shop with no switch yet (True when written), whichever
        replica starts first. Not an operator's action: kept as a switch by ``configuration``, not audited."""
        now = to_text(self._clock())
        async with self._db.transaction() as tx:
            written = await tx.execute(
                "INSERT INTO booking_modes (shop_id, from_date, mode, actor, reason, changed_at)"
                " SELECT $1, $2, $3, 'configuration', 'initial mode from the configuration', $4"
                " WHERE NOT EXISTS (SELECT 1 FROM booking_modes WHERE shop_id = $1) ON CONFLICT DO NOTHING",
                (shop_id, FIRST_DAY, mode, now),
            )
            if written:
                await self._apply(tx, shop_id, mode, FIRST_DAY, now)
        return bool(written)

    async def switch(self, shop_id: str, mode: BookingMode, from_date: str, actor: str, reason: str) -> int:
        """Book in ``mode`` from ``from_date`` on (later switches are replaced), audited; returns how many live events
        changed their way: held for their day's closing (daily), or given back to the dispatcher (detailed: every
        daily register-day from that date whose entry is not on its way yet, none of it being sent)."""
        now = to_text(self._clock())
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM booking_modes WHERE shop_id = $1 AND from_date > $2", (shop_id, from_date))
            await tx.execute(
                "INSERT INTO booking_modes (shop_id, from_date, mode, actor, reason, changed_at)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (shop_id, from_date) DO UPDATE SET mode = excluded.mode,"
                " actor = excluded.actor, reason = excluded.reason, changed_at = excluded.changed_at",
                (shop_id, from_date, mode, actor, reason, now),
            )
            moved = await self._apply(tx, shop_id, mode, from_date, now)
            detail = {"mode": mode, "from": from_date, "reason": reason, "events_moved": moved}
            await append_audit(tx, now, actor, "booking.switch", shop_id, f"booking:{from_date}", detail)
        return moved

    async def _apply(self, tx: Tx, shop_id: str, mode: BookingMode, from_date: str, now: str) -> int:
        """The live events a new switch moves at once (see :meth:`switch`)."""
        if mode == "daily":
            await tx.execute(self._shop_statements[0], (shop_id,))
            return await tx.execute(self._shop_statements[1], (shop_id, now))
        await tx.execute(
            "UPDATE register_days SET mode = 'detailed' WHERE shop_id = $1 AND business_date >= $2"
            " AND mode = 'daily' AND through_id IS NULL",
            (shop_id, from_date),
        )
        return await tx.execute(
            f"UPDATE deliveries SET priority = {LIVE}, updated_at = $3 WHERE shop_id = $1"  # noqa: S608 (constants)
            f" AND business_date >= $2 AND state = 'pending' AND priority = {DAY_OPEN}"
            f" AND EXISTS (SELECT 1 FROM register_days r WHERE r.shop_id = deliveries.shop_id"
            f" AND r.business_date = deliveries.business_date AND r.register_id = {self._reg}"
            " AND r.mode = 'detailed')",
            (shop_id, from_date, now),
        )


def mode_on(switches: list[BookingSwitch], day: dt.date) -> BookingMode:
    """The mode a shop books ``day`` in: its latest switch on or before it (detailed before any)."""
    mode: BookingMode = "detailed"
    for switch in switches:
        if switch.from_date <= day.isoformat():
            mode = switch.mode
    return mode
