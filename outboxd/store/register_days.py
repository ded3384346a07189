"""Live register-days of shops booking daily: decided once at their first event, held for their closing, settled.

A live register-day is decided once, in ingestion's transaction, in the mode its shop has for that business date
(``register_days``; the switches are ``store.booking``'s): a daily one's orders, payments and closing wait at
priority ``DAY_OPEN`` (never claimed) until its closing is in, then the daemon books them as one entry
(``outboxd.daemon.daily``). A register-day already touched in detailed mode (an event sent, in flight, retried,
failed or carried by a backfill) stays detailed. Its events that come once its entry is fixed are booked on their
own, live. See docs/backfill.md, "Booking modes".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from outboxd.store._db import Clock, Database, Dialect, Params, Tx, execute_all, to_text
from outboxd.store.deliveries import DAILY, DAY_OPEN, DELIVERY_COLUMNS, LIVE, PAUSED, RELEASED, delivery_from_row
from outboxd.store.models import Delivery

__all__ = ["DAY_EVENTS", "RegisterDays", "day_statements", "register_of"]

DAY_EVENTS = ("order.recorded", "payment.recorded", "register.closed")
"""The events a day's entry holds (a reference snapshot has no register-day and always flows live)."""
_TYPES = ", ".join(f"'{t}'" for t in DAY_EVENTS)
_ELIGIBLE = (
    f"deliveries.state = 'pending' AND deliveries.priority = {LIVE} AND deliveries.attempts = 0"  # noqa: S608 (constants)
    f" AND deliveries.business_date IS NOT NULL AND deliveries.event_type IN ({_TYPES})"
    " AND EXISTS (SELECT 1 FROM booking_modes b0 WHERE b0.shop_id = deliveries.shop_id AND b0.mode = 'daily')"
    " AND EXISTS (SELECT 1 FROM shops s WHERE s.shop_id = deliveries.shop_id AND s.connected_since IS NOT NULL"
    " AND (s.history_through IS NULL OR deliveries.outbox_id > s.history_through))"
)
"""Live rows never tried of a connected shop's live traffic (history waits for a backfill, docs/backfill.md)."""
_TOUCHED = (
    "(o.state IN ('leased', 'delivered', 'failed', 'discarded')"
    f" OR (o.state = 'pending' AND (o.priority IN ({RELEASED}, {PAUSED}, {DAILY}) OR o.attempts > 0)))"
)
"""A row already on its way in detailed mode: sent or in flight, retried, failed, or carried by a backfill."""


def register_of(dialect: Dialect, table: str) -> str:
    """The register of a row whose payload is a JSON object (a business date was read from it)."""
    field = dialect.json_field(f"{table}.payload", "register_id")
    return f"CASE WHEN {table}.business_date IS NOT NULL THEN {field} END"


def day_statements(dialect: Dialect, scope: str) -> tuple[str, str]:
    """Decide the register-days of the live rows in ``scope`` (an SQL term on ``deliveries``, its value $1), then
    hold those of the daily ones whose entry is not on its way yet (the time $2)."""
    reg, other = register_of(dialect, "deliveries"), register_of(dialect, "o")
    decide = (  # each register-day once (k), not each of its rows: the touched check reads the whole day
        "INSERT INTO register_days (shop_id, business_date, register_id, mode)"  # noqa: S608 (constants)
        " SELECT k.shop_id, k.business_date, k.register_id, 'daily' FROM (SELECT DISTINCT deliveries.shop_id,"
        f" deliveries.business_date, {reg} AS register_id FROM deliveries WHERE {scope} AND {_ELIGIBLE}) k"
        " WHERE k.register_id IS NOT NULL AND (SELECT b.mode FROM booking_modes b WHERE b.shop_id = k.shop_id"
        " AND b.from_date <= k.business_date ORDER BY b.from_date DESC LIMIT 1) = 'daily'"
        " AND NOT EXISTS (SELECT 1 FROM register_days r WHERE r.shop_id = k.shop_id"
        " AND r.business_date = k.business_date AND r.register_id = k.register_id)"
        " AND NOT EXISTS (SELECT 1 FROM deliveries o WHERE o.shop_id = k.shop_id"
        f" AND o.business_date = k.business_date AND {other} = k.register_id AND {_TOUCHED})"
        " ON CONFLICT DO NOTHING"
    )
    hold = (
        f"UPDATE deliveries SET priority = {DAY_OPEN}, updated_at = $2"  # noqa: S608 (constants)
        f" WHERE (shop_id, business_date) IN (SELECT shop_id, business_date FROM deliveries WHERE {scope})"
        f" AND {_ELIGIBLE} AND EXISTS (SELECT 1 FROM register_days r WHERE r.shop_id = deliveries.shop_id"
        f" AND r.business_date = deliveries.business_date AND r.register_id = {reg} AND r.mode = 'daily'"
        " AND r.through_id IS NULL)"
    )
    return decide, hold


class RegisterDays:
    """Decide, hold, fix and settle the live register-days booked daily."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._reg = register_of(db.dialect, "deliveries")
        self._new_statements = day_statements(db.dialect, "deliveries.id > $1")

    async def decide(self, tx: Tx, after_id: int, now: str) -> None:
        """Ingestion's step, in its transaction: the rows just copied (ids above ``after_id``) of a register-day
        booked daily wait for its closing, so the dispatcher never claims one of them. Free while no shop books
        daily."""
        if await tx.fetchone("SELECT 1 FROM booking_modes WHERE mode = 'daily' LIMIT 1") is None:
            return
        decide, hold = self._new_statements
        await tx.execute(decide, (after_id,))
        await tx.execute(hold, (after_id, now))

    async def ready_days(self) -> list[tuple[str, str, str]]:
        """(shop, business date, register) of the daily register-days whose closing is in, earliest first."""
        rows = await self._db.read(
            f"SELECT DISTINCT shop_id, business_date, {self._reg} FROM deliveries WHERE state = 'pending'"  # noqa: S608 (constants)
            f" AND priority = {DAY_OPEN} AND event_type = 'register.closed' ORDER BY business_date, shop_id"
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def day_rows(self, shop_id: str, day: str, register_id: str) -> list[Delivery]:
        """The events a register-day's entry covers, in id order. The first call fixes them (``through_id``) before
        anything is posted, so a re-run after a crash books the same events; later ones wait no more."""
        now = to_text(self._clock())
        async with self._db.transaction() as tx:
            await tx.execute(
                f"UPDATE register_days SET through_id = (SELECT max(id) FROM deliveries WHERE shop_id = $1"  # noqa: S608 (constants)
                f" AND business_date = $2 AND state = 'pending' AND priority = {DAY_OPEN} AND {self._reg} = $3)"
                " WHERE shop_id = $1 AND business_date = $2 AND register_id = $3 AND through_id IS NULL",
                (shop_id, day, register_id),
            )
            row = await tx.fetchone(
                "SELECT through_id FROM register_days WHERE shop_id = $1 AND business_date = $2 AND register_id = $3",
                (shop_id, day, register_id),
            )
            through = int(row[0]) if row is not None and row[0] is not None else 0
            await self._release_after(tx, shop_id, day, register_id, through, now)
            rows = await tx.fetchall(
                f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE shop_id = $1 AND business_date = $2"  # noqa: S608 (constants)
                f" AND state = 'pending' AND priority = {DAY_OPEN} AND {self._reg} = $3 ORDER BY id",
                (shop_id, day, register_id),
            )
        return [delivery_from_row(r) for r in rows]

    async def deliver_day(self, ids: Iterable[int], also: Sequence[tuple[str, Params]] = ()) -> int:
        """The register-day's entries are in Pennylane: its events delivered together, the day booked, with ``also``
        (what the day's tickets leave to remember: their accounts, their lines to letter)."""
        now = to_text(self._clock())
        wanted = sorted(ids)
        async with self._db.transaction() as tx:
            await execute_all(tx, also)
            done = await tx.executemany(
                "UPDATE deliveries SET state = 'delivered', delivered_at = $1, attempts = attempts + 1,"
                " updated_at = $1, last_error_class = NULL, last_error = NULL, last_status = NULL"
                " WHERE id = $2 AND state = 'pending'",
                [(now, i) for i in wanted],
            )
            await self._settle_day(tx, wanted[:1], "booked_at", now)
        return done

    async def to_detailed(self, ids: Iterable[int]) -> int:
        """A register-day that cannot be booked as one entry goes to the dispatcher, event by event, for good."""
        now = to_text(self._clock())
        wanted = sorted(ids)
        async with self._db.transaction() as tx:
            moved = await tx.executemany(
                f"UPDATE deliveries SET priority = {LIVE}, updated_at = $2 WHERE id = $1 AND state = 'pending'"  # noqa: S608 (constants)
                f" AND priority = {DAY_OPEN}",
                [(i, now) for i in wanted],
            )
            await self._settle_day(tx, wanted[:1], "mode", now)
        return moved

    async def _settle_day(self, tx: Tx, first: list[int], what: Literal["booked_at", "mode"], now: str) -> None:
        """The register-day of delivery ``first[0]`` booked (``booked_at``) or detailed for good (``mode``); its
        events that were not in the entry (they came once it was fixed) are given to the dispatcher."""
        sql = f"SELECT shop_id, business_date, {self._reg} FROM deliveries WHERE id = $1"  # noqa: S608 (constants)
        if not first or (row := await tx.fetchone(sql, (first[0],))) is None:
            return
        key = "WHERE shop_id = $1 AND business_date = $2 AND register_id = $3"
        if what == "booked_at":
            await tx.execute(f"UPDATE register_days SET booked_at = $4 {key}", (row[0], row[1], row[2], now))  # noqa: S608 (constant)
        else:
            await tx.execute(f"UPDATE register_days SET mode = 'detailed' {key}", (row[0], row[1], row[2]))  # noqa: S608 (constant)
        await self._release_after(tx, row[0], row[1], row[2], 0, now)

    async def _release_after(self, tx: Tx, shop_id: str, day: str, register_id: str, through: int, now: str) -> int:
        """Events of a register-day held past ``through`` (0: all of them) go live, on their own."""
        return await tx.execute(
            f"UPDATE deliveries SET priority = {LIVE}, updated_at = $5 WHERE shop_id = $1 AND business_date = $2"  # noqa: S608 (constants)
            f" AND state = 'pending' AND priority = {DAY_OPEN} AND {self._reg} = $3 AND id > $4",
            (shop_id, day, register_id, through, now),
        )

    async def release_strays(self) -> int:
        """Events held for a register-day already booked or detailed go live. Ingestion holds none such, but on
        PostgreSQL an ingestion that began before a day's entry was fixed may commit after the day is settled."""
        other = register_of(self._db.dialect, "d")
        rows = await self._db.read(
            f"SELECT d.id FROM deliveries d JOIN register_days r ON r.shop_id = d.shop_id"  # noqa: S608 (constants)
            f" AND r.business_date = d.business_date AND r.register_id = {other} WHERE d.state = 'pending'"
            f" AND d.priority = {DAY_OPEN} AND (r.booked_at IS NOT NULL OR r.mode = 'detailed')"
        )
        if not rows:
            return 0
        async with self._db.transaction() as tx:
            return await tx.executemany(
                f"UPDATE deliveries SET priority = {LIVE} WHERE id = $1 AND priority = {DAY_OPEN}",  # noqa: S608 (constants)
                [(r[0],) for r in rows],
            )

    async def waiting(self) -> dict[str, int]:
        """Per shop, the live events held for their register-day's closing."""
        rows = await self._db.read(
            f"SELECT shop_id, count(*) FROM deliveries WHERE state = 'pending' AND priority = {DAY_OPEN}"  # noqa: S608 (constants)
            " GROUP BY shop_id"
        )
        return {r[0]: int(r[1]) for r in rows}
