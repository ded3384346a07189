"""Deliveries: ingestion from the outbox, claims with leases, and each delivery's outcome.

Only the head of an aggregate (its lowest open row, kept by the ``head`` column and the schema's triggers) can
be claimed, so a later event of an order never overtakes an earlier one that is pending, in flight or failed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from outboxd.store._db import Clock, Database, Params, Row, Tx, from_text, maybe_time, to_text
from outboxd.store.admission import admitted, fail_refused
from outboxd.store.models import OPEN_STATES, Delivery, ImportedEvent, OutboxRow
from outboxd.store.shops import ensure_shops

__all__ = [
    "CLAIMABLE_PRIORITY", "DELIVERY_COLUMNS", "INGEST_BATCH_BYTES", "OPEN_SQL", "Deliveries", "EventSource",
    "IngestStep", "delivery_from_row", "last_delivery_id",
]  # fmt: skip

DELIVERY_COLUMNS = (
    "id, outbox_id, event_id, shop_id, event_type, aggregate_id, occurred_at, business_date, payload, source, "
    "backfill_id, state, attempts, next_attempt_at, lease_owner, lease_until, last_error_class, last_error, "
    "last_status, created_at, updated_at, delivered_at"
)
OPEN_SQL = "state IN (" + ", ".join(f"'{state}'" for state in OPEN_STATES) + ")"
"""The open states as a SQL term; the partial indexes on open rows are used only by a query that repeats it."""
LIVE, RELEASED, HELD, PAUSED, DAILY, DAY_OPEN = 0, 1, 2, 3, 4, 5
"""Priorities of deliveries: 0 live, 1 backfill or import released to the dispatcher, 2 history held, 3 backfill
paused, 4 daily backfill (booked one entry per register and day), 5 live register-day booked daily, waiting for its
closing (store/booking.py). See docs/backfill.md."""
CLAIMABLE_PRIORITY = RELEASED
"""The dispatcher claims live and released rows; history held, paused or booked per day waits."""
_SHOPS_PER_CLAIM = 200  # stays well under SQLite's 500 terms of a compound SELECT
_MESSAGE_MAX = 4000
INGEST_BATCH_BYTES = 8 << 20
"""Payload bytes one ingest batch loads at most (the source measures them before reading): a run of large rows (up
to the contract's 1 MB each) is read and written in several short transactions rather than a gigabyte in memory and
one transaction that holds the writer."""

_INSERT = """
INSERT OR IGNORE INTO deliveries (outbox_id, event_id, shop_id, event_type, aggregate_id, occurred_at,
  business_date, payload, source, priority, backfill_id, head, next_attempt_at, created_at, updated_at)
VALUES (:outbox_id, :event_id, :shop_id, :event_type, :aggregate_id, :occurred_at,
  CASE WHEN json_valid(:payload) THEN json_extract(:payload, '$.business_date') END, :payload, :source,
  :priority, :backfill_id,
  NOT EXISTS (SELECT 1 FROM deliveries WHERE shop_id = :shop_id AND aggregate_id = :aggregate_id
                AND state IN ('pending', 'leased', 'failed')),
  :now, :created_at, :now)
"""
_TAKE_BACK = "UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_until = NULL, updated_at = $1 "
"""Leases back to pending without spending an attempt, as of the time $1; the callers add which ones
(``WHERE state = 'leased'...``)."""
# Expired leases of other owners only: an expired lease of our own is a delivery still in flight in this process
# (slower than the lease: a long rate-limit wait, retries inside one call), and taking it back would run it twice.
_TAKE_BACK_EXPIRED = _TAKE_BACK + "WHERE state = 'leased' AND lease_until < $1 AND lease_owner <> $2"
_SHOP_HEADS = (
    "SELECT id FROM deliveries WHERE shop_id = ? AND state = 'pending' AND head = 1"  # noqa: S608 (constants)
    f" AND priority <= {CLAIMABLE_PRIORITY} AND next_attempt_at <= ?"
    " AND id <= COALESCE((SELECT min(id) FROM deliveries WHERE shop_id = ? AND aggregate_id = 'reference'"
    f" AND {OPEN_SQL}), {2**63 - 1}) ORDER BY priority, id LIMIT ?"
)
"""One shop's due heads for :meth:`Deliveries.claim_heads`, up to the shop's oldest open reference snapshot."""
_DUE_SHOPS = (
    "SELECT shop_id FROM shops s WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.shop_id = s.shop_id"  # noqa: S608 (constants)
    f" AND d.state = 'pending' AND d.head = 1 AND d.priority <= {CLAIMABLE_PRIORITY} AND d.next_attempt_at <= $1)"
)
_SETTLE = (
    "UPDATE deliveries SET {assignments}, lease_owner = NULL, lease_until = NULL, updated_at = $1 "
    "WHERE id = $2 AND ((state = 'leased' AND lease_owner = $3) OR state = 'pending')"
)
"""A delivery's outcome, written only while this owner holds its lease; the assignments' values are $4 on."""
_ERROR_SET = "last_error_class = $4, last_error = $5, last_status = $6"


class IngestStep(Protocol):
    """A step of ingestion's transaction, given the rows copied: those with an id above ``after_id``."""

    async def __call__(self, tx: Tx, after_id: int, now: str) -> None: ...


async def last_delivery_id(tx: Tx) -> int:
    """The highest delivery id (0 when none): what an ingestion's new rows come after."""
    row = await tx.fetchone("SELECT coalesce(max(id), 0) FROM deliveries")
    return int(row[0]) if row is not None else 0


class EventSource(Protocol):
    """Where new events come from, read after a cursor (Kash.Click's outbox, in SQLite or PostgreSQL)."""

    name: str

    async def fetch_after(self, last_id: int, limit: int, max_bytes: int) -> list[OutboxRow]: ...


def delivery_from_row(row: Row) -> Delivery:
    return Delivery(
        id=row["id"], outbox_id=row["outbox_id"], event_id=row["event_id"], shop_id=row["shop_id"],
        event_type=row["event_type"], aggregate_id=row["aggregate_id"], occurred_at=row["occurred_at"],
        business_date=row["business_date"], payload=row["payload"], source=row["source"],
        backfill_id=row["backfill_id"], state=row["state"], attempts=row["attempts"],
        next_attempt_at=from_text(row["next_attempt_at"]), lease_owner=row["lease_owner"],
        lease_until=maybe_time(row["lease_until"]), last_error_class=row["last_error_class"],
        last_error=row["last_error"], last_status=row["last_status"], created_at=from_text(row["created_at"]),
        updated_at=from_text(row["updated_at"]), delivered_at=maybe_time(row["delivered_at"]),
    )  # fmt: skip


class Deliveries:
    """Ingest, claim and settle deliveries; the daemon's hot path (operator actions live in ``queue``)."""

    def __init__(self, db: Database, clock: Clock, owner: str, lease: dt.timedelta) -> None:
        self._db = db
        self._clock = clock
        self.owner = owner
        self.lease = lease
        self.on_ingest: IngestStep | None = None
        """Run in each ingestion's transaction after its rows are copied (the booking modes' hold)."""

    async def cursor(self, source_name: str = "outbox") -> int:
        """The last outbox id ingested from that source (0 before the first)."""
        row = await self._db.read_one("SELECT last_id FROM ingest_cursor WHERE source = $1", (source_name,))
        return 0 if row is None else int(row[0])

    async def ingest_from(self, source: EventSource, batch: int = 1000) -> int:
        """Copy up to ``batch`` new rows of the source, and about ``INGEST_BATCH_BYTES`` of payloads at most (one
        row at least); return how many were read (0: nothing new, else call again).

        The rows and the new cursor are written in one transaction: a crash leaves both or neither. A row that
        breaks the contract's column rules is stored failed with its contract error (``store.admission``).
        """
        rows = await source.fetch_after(await self.cursor(source.name), batch, INGEST_BATCH_BYTES)
        if not rows:
            return 0
        now = to_text(self._clock())
        rows, refused = admitted(rows, now)
        params = [_params(row, row.id, row.created_at, "outbox", None, now) for row in rows]
        async with self._db.transaction() as tx:
            before = await last_delivery_id(tx)
            await tx.executemany(_INSERT, params)
            if self.on_ingest is not None:
                await self.on_ingest(tx, before, now)
            await fail_refused(tx, refused)
            await ensure_shops(tx, {row.shop_id for row in rows}, now)
            await tx.execute(
                "INSERT INTO ingest_cursor (source, last_id, updated_at) VALUES (?, ?, ?) ON CONFLICT (source) "
                "DO UPDATE SET last_id = max(last_id, excluded.last_id), updated_at = excluded.updated_at",
                (source.name, rows[-1].id, now),
            )
        return len(rows)

    async def ingest_rows(
        self, events: Iterable[ImportedEvent], *, backfill_id: int | None = None, held: bool = False
    ) -> int:
        """Add events that did not come through the outbox (they go after live ones); return how many were new.

        An ``event_id`` already known (from the outbox or an earlier import) is ignored. ``held``: history from a
        file (``outboxd import``), delivered only once an operator starts a backfill.
        """
        now = to_text(self._clock())
        priority = HELD if held else RELEASED
        params = [_params(event, None, now, "import", backfill_id, now) | {"priority": priority} for event in events]
        if not params:
            return 0
        async with self._db.transaction() as tx:
            added = await tx.executemany(_INSERT, params)
            await ensure_shops(tx, {p["shop_id"] for p in params}, now)
        return added

    async def claim(
        self, limit: int, *, shops: Iterable[str] | None = None, below_id: int | None = None
    ) -> list[Delivery]:
        """Lease up to ``limit`` due heads (live before backfill, then id order) for ``lease``.

        ``shops`` restricts the claim (a lane claims for its own shop; leave paused shops out); None means every
        known shop. ``below_id`` claims only rows with a smaller id. Leases of a crashed owner that ran out are
        taken back first. The daemon claims with :meth:`claim_heads`.
        """
        now = self._clock()
        wanted = sorted(set(shops)) if shops is not None else await self._known_shops()
        claimed: list[Delivery] = []
        for start in range(0, len(wanted), _SHOPS_PER_CLAIM):
            if len(claimed) >= limit:
                break
            chunk = wanted[start : start + _SHOPS_PER_CLAIM]
            claimed += await self._claim_chunk(chunk, limit - len(claimed), now, below_id)
        claimed.sort(key=lambda d: (d.source == "import", d.id))
        return claimed

    async def _claim_chunk(
        self, shops: Sequence[str], limit: int, now: dt.datetime, below_id: int | None
    ) -> list[Delivery]:
        one = (
            "SELECT * FROM (SELECT id, priority FROM deliveries WHERE shop_id = ? AND state = 'pending' AND head = 1"  # noqa: S608 (a constant of this module)
            f" AND priority <= {CLAIMABLE_PRIORITY} AND next_attempt_at <= ? AND id < ? ORDER BY priority, id LIMIT ?)"
        )
        union = " UNION ALL ".join([one] * len(shops))
        sql = (
            "UPDATE deliveries SET state = 'leased', lease_owner = ?, lease_until = ?, updated_at = ? "  # noqa: S608 (no data in the text)
            f"WHERE id IN (SELECT id FROM ({union}) ORDER BY priority, id LIMIT ?) RETURNING {DELIVERY_COLUMNS}"
        )
        stamp = to_text(now)
        params: list[Any] = [self.owner, to_text(now + self.lease), stamp]
        ceiling = below_id if below_id is not None else 2**63 - 1
        for shop in shops:
            params += [shop, stamp, ceiling, limit]
        params.append(limit)
        async with self._db.transaction() as tx:
            await tx.execute(_TAKE_BACK_EXPIRED, (stamp, self.owner))
            rows = await tx.fetchall(sql, params)
        return [delivery_from_row(row) for row in rows]

    async def claim_heads(self, free: Mapping[str, int]) -> list[Delivery]:
        """Lease up to ``free[shop]`` due heads of each shop (live before backfill, then id order), in one statement.

        The dispatcher's claim: one transaction for every shop with free slots, instead of one per shop. Each
        shop's reference barrier is applied inside the statement: a ``reference`` event changes the accounts
        (chapters, methods, registers) later tickets book on, so while one is open only the events older than
        it, and the snapshot itself, may be claimed. Leases of a crashed owner that ran out are taken back first.
        """
        wanted = sorted((shop, n) for shop, n in free.items() if n > 0)
        claimed: list[Delivery] = []
        for start in range(0, len(wanted), _SHOPS_PER_CLAIM):
            claimed += await self._claim_heads_chunk(wanted[start : start + _SHOPS_PER_CLAIM], self._clock())
        claimed.sort(key=lambda d: (d.source == "import", d.id))
        return claimed

    async def _claim_heads_chunk(self, wanted: Sequence[tuple[str, int]], now: dt.datetime) -> list[Delivery]:
        union = " UNION ALL ".join(f"SELECT id FROM ({_SHOP_HEADS}) AS s{n}" for n in range(len(wanted)))  # noqa: S608 (constants)
        sql = (
            "UPDATE deliveries SET state = 'leased', lease_owner = ?, lease_until = ?, updated_at = ? "  # noqa: S608 (no data in the text)
            f"WHERE state = 'pending' AND id IN ({union}) RETURNING {DELIVERY_COLUMNS}"
        )
        stamp = to_text(now)
        params: list[Any] = [self.owner, to_text(now + self.lease), stamp]
        for shop, limit in wanted:
            params += [shop, stamp, shop, limit]
        async with self._db.transaction() as tx:
            await tx.execute(_TAKE_BACK_EXPIRED, (stamp, self.owner))
            rows = await tx.fetchall(sql, params)
        return [delivery_from_row(row) for row in rows]

    async def _known_shops(self) -> list[str]:
        return [row[0] for row in await self._db.read("SELECT shop_id FROM shops ORDER BY shop_id")]

    async def last_id(self) -> int:
        """The highest delivery id (0 when none): where :meth:`shops_after` starts."""
        row = await self._db.read_one("SELECT coalesce(max(id), 0) FROM deliveries")
        return 0 if row is None else int(row[0])

    async def shops_after(self, after_id: int) -> tuple[set[str], int]:
        """The shops of the deliveries added after id ``after_id``, and the highest id now (what to ask after next):
        the dispatcher wakes these shops only, whatever the number of shops known."""
        rows = await self._db.read(
            "SELECT shop_id, max(id) FROM deliveries WHERE id > $1 GROUP BY shop_id", (after_id,)
        )
        return {r[0] for r in rows}, max((int(r[1]) for r in rows), default=after_id)

    async def due_shops(self) -> set[str]:
        """The shops with a head the dispatcher may claim now (live or released, due): one index probe per known
        shop, so a pass over thousands of idle shops costs milliseconds, however much history waits held."""
        rows = await self._db.read(_DUE_SHOPS, (to_text(self._clock()),))
        return {r[0] for r in rows}

    async def release(self) -> int:
        """Give every lease of this owner back without spending an attempt (at stop, when nothing runs any more)."""
        return await self._db.write(
            _TAKE_BACK + "WHERE state = 'leased' AND lease_owner = $2", (to_text(self._clock()), self.owner)
        )

    async def take_back_all(self) -> int:
        """Every lease back to pending, whoever holds it: only for a daemon holding the SQLite state's lock, where
        any lease found at start was left by a process that died (kill -9, power loss)."""
        return await self._db.write(_TAKE_BACK + "WHERE state = 'leased'", (to_text(self._clock()),))

    async def get(self, delivery_id: int) -> Delivery | None:
        row = await self._db.read_one(f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1", (delivery_id,))  # noqa: S608 (constant column list)
        return None if row is None else delivery_from_row(row)

    async def mark_delivered(self, delivery_id: int) -> bool:
        """Every entry of the event is in Pennylane. False: the lease was lost to another owner (nothing changed)."""
        return await self._db.write(*self.delivered_statement(delivery_id)) == 1

    def delivered_statement(self, delivery_id: int) -> tuple[str, Params]:
        """:meth:`mark_delivered` as a statement (it changes no row when the lease was lost)."""
        return self._settle_statement(
            delivery_id,
            "state = 'delivered', delivered_at = $1, attempts = attempts + 1, last_error_class = NULL, "
            "last_error = NULL, last_status = NULL",
        )

    async def schedule_retry(
        self, delivery_id: int, next_attempt_at: dt.datetime, error_class: str, message: str, status: int | None = None
    ) -> bool:
        """A retryable failure: spend an attempt, try again at ``next_attempt_at``."""
        return await self._settle(
            delivery_id, "state = 'pending', attempts = attempts + 1, next_attempt_at = $7, " + _ERROR_SET,
            *_error(error_class, message, status), to_text(next_attempt_at),
        )  # fmt: skip

    async def defer(self, delivery_id: int, until: dt.datetime) -> bool:
        """Put back without spending an attempt (429, shop paused or not connected)."""
        return await self._settle(delivery_id, "state = 'pending', next_attempt_at = $4", to_text(until))

    async def mark_failed(self, delivery_id: int, error_class: str, message: str, status: int | None = None) -> bool:
        """A permanent failure: the aggregate stays blocked until an operator retries or discards."""
        assignments = "state = 'failed', attempts = attempts + 1, " + _ERROR_SET
        return await self._settle(delivery_id, assignments, *_error(error_class, message, status))

    async def mark_skipped(self, delivery_id: int, reason: str) -> bool:
        """Nothing to book (a superseded reference snapshot, an event the mapping ignores)."""
        return await self._settle(delivery_id, "state = 'skipped', last_error = $4", reason)

    async def _settle(self, delivery_id: int, assignments: str, *values: Any) -> bool:
        return await self._db.write(*self._settle_statement(delivery_id, assignments, *values)) == 1

    def _settle_statement(self, delivery_id: int, assignments: str, *values: Any) -> tuple[str, Params]:
        """``assignments`` read the time as $1 and their ``values`` as $4 on."""
        sql = _SETTLE.format(assignments=assignments)
        return sql, (to_text(self._clock()), delivery_id, self.owner, *values)


def _error(error_class: str, message: str, status: int | None) -> tuple[str, str, int | None]:
    return error_class, message[:_MESSAGE_MAX], status


def _params(
    event: OutboxRow | ImportedEvent,
    outbox_id: int | None,
    created_at: str,
    source: str,
    backfill_id: int | None,
    now: str,
) -> dict[str, Any]:
    return {
        "outbox_id": outbox_id, "event_id": event.event_id, "shop_id": event.shop_id, "event_type": event.event_type,
        "aggregate_id": event.aggregate_id, "occurred_at": event.occurred_at, "payload": event.payload,
        "source": source, "priority": 0 if source == "outbox" else 1, "backfill_id": backfill_id,
        "created_at": created_at, "now": now,
    }  # fmt: skip
