"""A shop's history: held until an operator starts a backfill, then released, skipped or booked per day.

The priorities it moves rows between (LIVE, RELEASED, HELD, PAUSED, DAILY) are the claim's, in ``deliveries``;
the dispatcher claims only LIVE and RELEASED. History from a file comes in held (``Deliveries.ingest_rows``).
See docs/backfill.md.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from outboxd.money import parse_amount
from outboxd.store._db import Clock, Database, Params, Tx, execute_all, to_text
from outboxd.store.deliveries import DAILY, DELIVERY_COLUMNS, HELD, LIVE, OPEN_SQL, PAUSED, RELEASED, delivery_from_row
from outboxd.store.models import Delivery
from outboxd.store.shops import ensure_shops

__all__ = ["DAILY", "HELD", "LIVE", "PAUSED", "RELEASED", "History", "TicketCounts"]

SKIP_CLASS = "history"
"""``last_error_class`` of a row skipped as before a backfill's start: a later backfill may take it back."""

_HISTORY = f"((state = 'pending' AND priority = {HELD}) OR (state = 'skipped' AND last_error_class = '{SKIP_CLASS}'))"
"""What a backfill would take: history held, or skipped by an earlier backfill's start date."""


@dataclass(frozen=True)
class TicketCounts:
    """The history's tickets as the backfill estimate needs them."""

    new_customers: int
    """Customers without a Pennylane account yet."""
    new_owing_customers: int
    """Those of them a ticket leaves owing at the end of its day (daily booking with customers = "on_account")."""
    settled: int
    """Tickets whose payments, in the history too, add up to them: each is lettered once, one request
    (detailed booking; docs/accounting.md, "Lettering")."""
    settled_later: int
    """Those of them left owing at the end of their day: lettered once in daily booking."""


@dataclass(frozen=True)
class _Orders:
    """Tickets and payments of the history by order: its customer, whether it books a ticket, and what each
    business day leaves owing."""

    customers: dict[str, str]  # order_id -> customer id
    ticketed: set[str]
    left: dict[tuple[str, str], int]  # (order_id, business day) -> what that day leaves owing

    def owing(self) -> set[str]:
        """The orders a day leaves owing (a ticket on account; a day bringing a later payment too)."""
        return {order_id for (order_id, _), cents in self.left.items() if cents}


class History:
    """Hold, release, skip and settle a shop's history (the daemon is the only caller besides ``outboxd import``)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._register = db.dialect.json_field("payload", "register_id")

    # -- the hold ---------------------------------------------------------------------------------------------

    async def connected_shops(self) -> set[str]:
        rows = await self._db.read("SELECT shop_id FROM shops WHERE connected_since IS NOT NULL")
        return {r[0] for r in rows}

    async def first_connection(self, shop_id: str, *, hold: bool, through: int) -> int | None:
        """Record the shop's first connection; with ``hold``, every row of the shop in the outbox then (ids up to
        ``through``) becomes history, ingested yet or not. Returns the outbox id up to which history is still to
        be held (:meth:`hold_history`, once ingestion has passed it), first connection or not; None when none is.
        """
        now = to_text(self._clock())
        async with self._db.transaction() as tx:
            await ensure_shops(tx, {shop_id}, now)
            await tx.execute(
                "UPDATE shops SET connected_since = $1, history_through = $2 WHERE shop_id = $3"
                " AND connected_since IS NULL",
                (now, through if hold else None, shop_id),
            )
            row = await tx.fetchone("SELECT history_through FROM shops WHERE shop_id = $1", (shop_id,))
        return None if row is None or row[0] is None else int(row[0])

    async def holds(self) -> dict[str, int]:
        """Shops whose history is still to be held, and the outbox id it goes up to."""
        rows = await self._db.read("SELECT shop_id, history_through FROM shops WHERE history_through IS NOT NULL")
        return {r[0]: int(r[1]) for r in rows}

    async def hold_history(self, shop_id: str, through: int) -> int:
        """The shop's rows of the outbox up to ``through`` held, every one ingested by now; returns how many.

        Reference snapshots are never held: they carry no entry, and live events need the mapping they complete.
        """
        async with self._db.transaction() as tx:
            held = await tx.execute(
                "UPDATE deliveries SET priority = $1 WHERE shop_id = $2 AND state = 'pending' AND priority = $3"
                " AND business_date IS NOT NULL AND outbox_id <= $4",
                (HELD, shop_id, LIVE, through),
            )
            await tx.execute("UPDATE shops SET history_through = NULL WHERE shop_id = $1", (shop_id,))
        return held

    # -- what a backfill would take ---------------------------------------------------------------------------

    async def register_days(self, shop_id: str, start: dt.date) -> list[tuple[str | None, str | None, int]]:
        """(business_date, register, events) of the history a backfill from ``start`` would deliver."""
        rows = await self._db.read(
            f"SELECT business_date, {self._register}, count(*) FROM deliveries WHERE shop_id = $1 AND {_HISTORY}"  # noqa: S608 (constant)
            " AND (business_date IS NULL OR business_date >= $2) GROUP BY 1, 2 ORDER BY 1, 2",
            (shop_id, start.isoformat()),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def tickets(self, shop_id: str, start: dt.date, reference_prefix: str) -> TicketCounts:
        """What the history's tickets from ``start`` on will cost besides their entries."""
        orders = await self._orders(f"{_HISTORY} AND business_date >= $2", (shop_id, start.isoformat()))
        known = {
            r[0] for r in await self._db.read("SELECT external_reference FROM customers WHERE shop_id = $1", (shop_id,))
        }
        owing = orders.owing()
        balance: dict[str, int] = {}
        for (order_id, _), cents in orders.left.items():
            balance[order_id] = balance.get(order_id, 0) + cents
        lettered = {order_id for order_id, cents in balance.items() if not cents and order_id in orders.ticketed}

        def unknown(ids: set[str]) -> int:
            return sum(1 for customer_id in ids if reference_prefix + customer_id not in known)

        return TicketCounts(
            new_customers=unknown(set(orders.customers.values())),
            new_owing_customers=unknown({orders.customers[o] for o in owing if o in orders.customers}),
            settled=len(lettered),
            settled_later=len(lettered & owing),
        )

    async def customers(self, shop_id: str, backfill_id: int, *, owing_only: bool) -> set[str]:
        """The customer ids of the tickets a backfill has still to book (``owing_only``: those a ticket leaves
        owing at its day's end), for a daily backfill to look them up at once, 100 per request."""
        orders = await self._orders("state = 'pending' AND backfill_id = $2", (shop_id, backfill_id))
        wanted = orders.owing() if owing_only else orders.customers.keys()
        return {orders.customers[o] for o in wanted if o in orders.customers}

    async def _orders(self, where: str, params: tuple[str | int, ...]) -> _Orders:
        """The tickets and payments of the shop's deliveries matching ``where`` (read in Python: a dialect's JSON
        field is one level deep)."""
        field = self._db.dialect.json_field
        rows = await self._db.read(
            f"SELECT business_date, {field('payload', 'order_id')}, {field('payload', 'customer')},"  # noqa: S608 (constant)
            f" {field('payload', 'total_incl_tax')}, {field('payload', 'amount')} FROM deliveries WHERE shop_id = $1"
            f" AND event_type IN ('order.recorded', 'payment.recorded') AND {where}",
            params,
        )
        orders = _Orders({}, set(), {})
        for row in rows:
            day, order_id, customer, total, amount = (None if row[n] is None else str(row[n]) for n in range(5))
            if order_id is None or day is None:
                continue
            if customer:
                orders.customers[order_id] = str(json.loads(customer)["id"])
            if total is not None and parse_amount(total):
                orders.ticketed.add(order_id)  # a ticket of zero books no customer line: nothing to letter
            owed = parse_amount(total) if total is not None else -parse_amount(amount or "0")
            orders.left[order_id, day] = orders.left.get((order_id, day), 0) + owed
        return orders

    async def sample(self, shop_id: str, start: dt.date, limit: int) -> list[Delivery]:
        """The first ``limit`` events of the history from ``start`` on: what the estimate books to see which
        accounts the history needs."""
        rows = await self._db.read(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE shop_id = $1 AND {_HISTORY}"  # noqa: S608 (constant)
            " AND business_date >= $2 ORDER BY id LIMIT $3",
            (shop_id, start.isoformat(), limit),
        )
        return [delivery_from_row(row) for row in rows]

    async def busy_register_days(self, shop_id: str, start: dt.date) -> set[tuple[str, str]]:
        """Register-days with an event already delivered or on its way in detailed mode: never booked per day."""
        rows = await self._db.read(
            f"SELECT DISTINCT business_date, {self._register} FROM deliveries WHERE shop_id = $1"  # noqa: S608 (constant)
            " AND business_date >= $2 AND (state IN ('delivered', 'leased')"
            f" OR (state IN ('pending', 'failed') AND priority <= {RELEASED}))",
            (shop_id, start.isoformat()),
        )
        return {(r[0], r[1]) for r in rows if r[0] is not None and r[1] is not None}

    # -- a backfill's life ------------------------------------------------------------------------------------

    async def release(
        self, backfill_id: int, shop_id: str, start: dt.date, daily_before: dt.date | None, busy: set[tuple[str, str]]
    ) -> int:
        """Start a backfill: history from ``start`` is released (or booked per day before ``daily_before``),
        history before ``start`` is skipped with the reason. Returns how many events the backfill carries."""
        now, day = to_text(self._clock()), start.isoformat()
        reason = f"before the start date {day} of backfill {backfill_id}: not sent (a backfill from an earlier date takes it back)"  # noqa: E501
        async with self._db.transaction() as tx:
            reopened = await tx.execute(
                f"UPDATE deliveries SET state = 'pending', priority = {HELD}, last_error_class = NULL,"  # noqa: S608 (constant)
                " last_error = NULL, updated_at = $1 WHERE shop_id = $2 AND state = 'skipped'"
                f" AND last_error_class = '{SKIP_CLASS}' AND business_date >= $3",
                (now, shop_id, day),
            )
            if reopened:
                await _recompute_heads(tx, shop_id)
            await tx.execute(
                f"UPDATE deliveries SET state = 'skipped', last_error_class = '{SKIP_CLASS}', last_error = $1,"  # noqa: S608 (constant)
                f" updated_at = $2 WHERE shop_id = $3 AND state = 'pending' AND priority = {HELD}"
                " AND business_date < $4",
                (reason, now, shop_id, day),
            )
            total = await tx.execute(
                f"UPDATE deliveries SET priority = CASE WHEN business_date < $1 THEN {DAILY} ELSE {RELEASED} END,"  # noqa: S608 (constant)
                f" backfill_id = $2, updated_at = $3 WHERE shop_id = $4 AND state = 'pending' AND priority = {HELD}",
                (daily_before.isoformat() if daily_before else "", backfill_id, now, shop_id),
            )
            if daily_before is not None and busy:
                await tx.executemany(
                    f"UPDATE deliveries SET priority = {RELEASED} WHERE backfill_id = $1 AND priority = {DAILY}"  # noqa: S608 (constant)
                    f" AND business_date = $2 AND {self._register} = $3",
                    [(backfill_id, d, r) for d, r in sorted(busy)],
                )
        return total

    async def set_paused(self, backfill_id: int, paused: bool) -> None:
        """Paused rows leave the dispatcher's range; the backfiller stops booking days while the flag is set."""
        old, new = (RELEASED, PAUSED) if paused else (PAUSED, RELEASED)
        async with self._db.transaction() as tx:
            await tx.execute("UPDATE backfills SET paused = $1 WHERE id = $2", (int(paused), backfill_id))
            await tx.execute(
                "UPDATE deliveries SET priority = $1 WHERE backfill_id = $2 AND state = 'pending' AND priority = $3",
                (new, backfill_id, old),
            )

    async def is_paused(self, backfill_id: int) -> bool:
        row = await self._db.read_one("SELECT paused FROM backfills WHERE id = $1", (backfill_id,))
        return bool(row and row[0])

    async def cancel(self, backfill_id: int) -> int:
        """What the backfill had not sent goes back to history, held (a later backfill may take it)."""
        return await self._db.write(
            f"UPDATE deliveries SET priority = {HELD}, backfill_id = NULL WHERE backfill_id = $1 AND state = 'pending'"  # noqa: S608 (constant)
            f" AND priority IN ({RELEASED}, {PAUSED}, {DAILY})",
            (backfill_id,),
        )

    # -- the daily mode ---------------------------------------------------------------------------------------

    async def next_days(self, shop_id: str, backfill_id: int, days: int) -> list[list[Delivery]]:
        """The pending per-day rows of the backfill's ``days`` earliest business dates still to book: one list
        per date, in id order. (``shop_id`` and ``priority >= 2`` let SQLite walk the history index.)"""
        dates = await self._db.read(
            "SELECT DISTINCT business_date FROM deliveries WHERE shop_id = $1 AND state = 'pending'"  # noqa: S608 (constant)
            f" AND priority >= {HELD} AND priority = {DAILY} AND backfill_id = $2 ORDER BY business_date LIMIT $3",
            (shop_id, backfill_id, days),
        )
        if not dates:
            return []
        wanted = [r[0] for r in dates]
        rows = await self._db.read(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE shop_id = $1 AND state = 'pending'"  # noqa: S608 (constant)
            f" AND priority >= {HELD} AND priority = {DAILY} AND backfill_id = $2"
            f" AND business_date IN ({', '.join(f'${n}' for n in range(3, len(wanted) + 3))}) ORDER BY id",
            (shop_id, backfill_id, *wanted),
        )
        by_date: dict[str, list[Delivery]] = {day: [] for day in wanted}
        for row in rows:
            delivery = delivery_from_row(row)
            by_date[str(delivery.business_date)].append(delivery)
        return [group for group in by_date.values() if group]

    async def open_references(self, shop_id: str) -> int:
        """Reference snapshots of the shop still to deliver: a day is booked with the mapping they complete.

        The contract orders every snapshot under the aggregate ``reference``: one seek in the open-aggregate index
        (a scan of the whole table took 0.1 s on a year of history, once per day booked)."""
        row = await self._db.read_one(
            "SELECT count(*) FROM deliveries WHERE shop_id = $1 AND aggregate_id = 'reference'"  # noqa: S608 (constant)
            f" AND {OPEN_SQL} AND state IN ('pending', 'leased') AND event_type = 'reference.updated'"
            f" AND priority <= {RELEASED}",
            (shop_id,),
        )
        return int(row[0]) if row else 0

    async def to_detailed(self, ids: Iterable[int]) -> int:
        """A register-day that cannot be booked as a whole goes to the dispatcher, event by event."""
        async with self._db.transaction() as tx:
            return await tx.executemany(
                f"UPDATE deliveries SET priority = {RELEASED} WHERE id = $1 AND state = 'pending' AND priority = {DAILY}",  # noqa: S608, E501 (constant)
                [(i,) for i in ids],
            )

    async def deliver_day(self, ids: Iterable[int], also: Sequence[tuple[str, Params]] = ()) -> int:
        """Every event of a register-day is in Pennylane (its day entries are posted): delivered together, with
        ``also`` (what the day's tickets leave to remember: their accounts, their lines to letter)."""
        now = to_text(self._clock())
        async with self._db.transaction() as tx:
            await execute_all(tx, also)
            return await tx.executemany(
                "UPDATE deliveries SET state = 'delivered', delivered_at = $1, attempts = attempts + 1,"
                " updated_at = $1, last_error_class = NULL, last_error = NULL, last_status = NULL"
                " WHERE id = $2 AND state = 'pending'",
                [(now, i) for i in ids],
            )

    async def settled(self, backfill_id: int) -> int:
        """Rows the backfill carried to a final state (delivered, skipped, failed, discarded): what a cancelled one
        did, the rest having gone back to history."""
        row = await self._db.read_one(
            "SELECT count(*) FROM deliveries WHERE backfill_id = $1 AND state NOT IN ('pending', 'leased')",
            (backfill_id,),
        )
        return 0 if row is None else int(row[0])

    async def remaining(self, backfill_id: int) -> dict[str, int]:
        """Open rows of the backfill by priority (pending and leased), to tell 'done' apart."""
        rows = await self._db.read(
            "SELECT priority, count(*) FROM deliveries WHERE backfill_id = $1 AND state IN ('pending', 'leased')"
            " GROUP BY priority",
            (backfill_id,),
        )
        return {str(r[0]): r[1] for r in rows}


async def _recompute_heads(tx: Tx, shop_id: str) -> None:
    """Rows taken back from 'skipped' reopen their aggregates: the head is again the lowest open row."""
    await tx.execute(
        "UPDATE deliveries SET head = CASE WHEN id = (SELECT min(d.id) FROM deliveries d"  # noqa: S608 (constant)
        f" WHERE d.shop_id = deliveries.shop_id AND d.aggregate_id = deliveries.aggregate_id AND d.{OPEN_SQL})"
        f" THEN 1 ELSE 0 END WHERE shop_id = $1 AND {OPEN_SQL}",
        (shop_id,),
    )
