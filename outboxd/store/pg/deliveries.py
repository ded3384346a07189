"""Deliveries on PostgreSQL: ingestion and claims, the two statements that need their own plan there.

Everything else (settling, release, get) is the statements shared with SQLite (``store/deliveries.py``).
- Ingestion runs under a transaction-level advisory lock (one replica copies at a time; the others then find the
  rows known), takes each aggregate's lock (the same as the head trigger's) in key order, and computes ``head``
  for a whole batch in one INSERT ... SELECT (the first row of an aggregate in the batch, if none is open).
- Both lock the counter rows of their shops first, in (shop, state) order: a batch spanning shops would otherwise
  lock them in row order, and two such writers (a claim and an ingestion) could wait on each other in a cycle.
- A claim (``claim`` and the dispatcher's ``claim_heads``) takes back the expired leases of the shops it claims
  for, then leases due heads with ``FOR UPDATE SKIP LOCKED``, so two claimers never wait on, nor take, the same row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from outboxd.store._db import Clock, to_text
from outboxd.store.admission import admitted, fail_refused
from outboxd.store.deliveries import (
    CLAIMABLE_PRIORITY,
    DELIVERY_COLUMNS,
    HELD,
    INGEST_BATCH_BYTES,
    LIVE,
    RELEASED,
    Deliveries,
    EventSource,
    delivery_from_row,
    last_delivery_id,
)
from outboxd.store.models import Delivery, ImportedEvent, OutboxRow
from outboxd.store.pg.db import PgDatabase, PgTx

__all__ = ["INGEST_LOCK", "PgDeliveries"]

INGEST_LOCK = 7302
_INSERT = """
WITH batch AS (
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                       $8::text[]) WITH ORDINALITY
         AS b(outbox_id, event_id, shop_id, event_type, aggregate_id, occurred_at, payload, created_at, n)
)
INSERT INTO deliveries (outbox_id, event_id, shop_id, event_type, aggregate_id, occurred_at, business_date,
  payload, source, priority, backfill_id, head, next_attempt_at, created_at, updated_at)
SELECT outbox_id, event_id, shop_id, event_type, aggregate_id, occurred_at,
  CASE WHEN outboxd_json_valid(payload) THEN payload::jsonb ->> 'business_date' END, payload, $9, $10, $11,
  CASE WHEN n = min(n) OVER (PARTITION BY shop_id, aggregate_id) AND NOT EXISTS (
    SELECT 1 FROM deliveries d WHERE d.shop_id = b.shop_id AND d.aggregate_id = b.aggregate_id
      AND d.state IN ('pending', 'leased', 'failed')) THEN 1 ELSE 0 END,
  $12, created_at, $12
FROM batch b ORDER BY n
ON CONFLICT DO NOTHING RETURNING shop_id
"""
_CLAIM = f"""
UPDATE deliveries d SET state = 'leased', lease_owner = $1, lease_until = $2, updated_at = $3
FROM (SELECT c.id AS pick_id FROM unnest($4::text[]) AS s(shop) CROSS JOIN LATERAL (
        SELECT id, priority FROM deliveries
         WHERE shop_id = s.shop AND state = 'pending' AND head = 1 AND priority <= {CLAIMABLE_PRIORITY}
           AND next_attempt_at <= $3 AND id < $5
         ORDER BY priority, id LIMIT $6 FOR UPDATE SKIP LOCKED) c
      ORDER BY c.priority, c.id LIMIT $6) pick
WHERE d.id = pick.pick_id AND d.state = 'pending'
RETURNING {", ".join("d." + c.strip() for c in DELIVERY_COLUMNS.split(","))}
"""  # noqa: S608 (no data in the text)
# The dispatcher's claim (Deliveries.claim_heads): each shop's free slots, its reference barrier inside.
_CLAIM_HEADS = f"""
WITH pick AS MATERIALIZED (  -- evaluated once: a rescan under SKIP LOCKED would skip our own rows and take more
  SELECT c.id FROM unnest($4::text[], $5::int[]) AS s(shop, free) CROSS JOIN LATERAL (
    SELECT id FROM deliveries
     WHERE shop_id = s.shop AND state = 'pending' AND head = 1 AND priority <= {CLAIMABLE_PRIORITY}
       AND next_attempt_at <= $3
       AND id <= COALESCE((SELECT min(r.id) FROM deliveries r WHERE r.shop_id = s.shop
                             AND r.aggregate_id = 'reference' AND r.state IN ('pending', 'leased', 'failed')),
                          {2**63 - 1})
     ORDER BY priority, id LIMIT s.free FOR UPDATE SKIP LOCKED) c
)
UPDATE deliveries d SET state = 'leased', lease_owner = $1, lease_until = $2, updated_at = $3
FROM pick WHERE d.id = pick.id AND d.state = 'pending'
RETURNING {", ".join("d." + c.strip() for c in DELIVERY_COLUMNS.split(","))}
"""  # noqa: S608 (no data in the text)
# The counter rows of several shops, locked (created when missing) in one order for every writer: a claim or an
# ingestion batch spanning shops would otherwise lock them in row order, and two of them could wait in a cycle.
_LOCK_COUNTERS = """
INSERT INTO queue_counts (shop_id, state, n)
SELECT shop, state, 0 FROM unnest($1::text[]) AS s(shop) CROSS JOIN unnest($2::text[]) AS t(state)
 ORDER BY shop, state
ON CONFLICT (shop_id, state) DO UPDATE SET n = queue_counts.n
"""
# Expired leases of other owners only: a replica's owner name is its process's (host:pid), so an expired lease of
# its own is a delivery still in flight here (slower than the lease), and taking it back would run it twice.
_TAKE_BACK = """
UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_until = NULL, updated_at = $1
 WHERE id IN (SELECT id FROM deliveries WHERE state = 'leased' AND lease_until < $1 AND shop_id = ANY($2::text[])
                 AND lease_owner <> $3
                 FOR UPDATE SKIP LOCKED)  -- a row its late owner is settling right now is left to it
"""


class PgDeliveries(Deliveries):
    """The shared deliveries group with PostgreSQL ingestion and claims."""

    def __init__(self, db: PgDatabase, clock: Clock, owner: str, lease: dt.timedelta) -> None:
        super().__init__(db, clock, owner, lease)
        self._pg = db

    async def ingest_from(self, source: EventSource, batch: int = 1000) -> int:
        """Copy up to ``batch`` new rows and about ``INGEST_BATCH_BYTES`` of payloads; return how many were read
        (0: nothing new, else call again)."""
        rows = await source.fetch_after(await self.cursor(source.name), batch, INGEST_BATCH_BYTES)
        if not rows:
            return 0
        async with self._pg.transaction() as tx:
            await tx.conn.execute("SELECT pg_advisory_xact_lock($1)", INGEST_LOCK)
            # Another replica may have copied these rows while this one waited for the lock: skip what it did.
            done = await tx.conn.fetchval("SELECT last_id FROM ingest_cursor WHERE source = $1", source.name) or 0
            todo, refused = admitted([row for row in rows if row.id > done], to_text(self._clock()))
            if not todo:
                return len(rows)
            if refused:  # their counters change to failed too: locked with the batch's, in the one order
                await tx.conn.execute(_LOCK_COUNTERS, sorted({row.shop_id for row in todo}), ["failed", "pending"])
            created = [row.created_at for row in todo]
            before = await last_delivery_id(tx)
            await self._insert(tx, todo, [row.id for row in todo], created, "outbox", None, LIVE)
            if self.on_ingest is not None:
                await self.on_ingest(tx, before, to_text(self._clock()))
            await fail_refused(tx, refused)
            await tx.conn.execute(
                "INSERT INTO ingest_cursor (source, last_id, updated_at) VALUES ($1, $2, $3) ON CONFLICT (source) "
                "DO UPDATE SET last_id = GREATEST(ingest_cursor.last_id, excluded.last_id), "
                "updated_at = excluded.updated_at",
                source.name, rows[-1].id, to_text(self._clock()),
            )  # fmt: skip
        return len(rows)

    async def ingest_rows(
        self, events: Iterable[ImportedEvent], *, backfill_id: int | None = None, held: bool = False
    ) -> int:
        """Add events that did not come through the outbox; return how many were new (``held``: history)."""
        todo = list(events)
        if not todo:
            return 0
        now = to_text(self._clock())
        async with self._pg.transaction() as tx:
            await tx.conn.execute("SELECT pg_advisory_xact_lock($1)", INGEST_LOCK)
            priority = HELD if held else RELEASED
            return await self._insert(tx, todo, [None] * len(todo), [now] * len(todo), "import", backfill_id, priority)

    async def _insert(
        self,
        tx: PgTx,
        events: Sequence[OutboxRow | ImportedEvent],
        outbox_ids: list[int | None],
        created: list[str],
        source: str,
        backfill_id: int | None,
        priority: int,
    ) -> int:
        now = to_text(self._clock())
        aggregates = sorted({(e.shop_id, e.aggregate_id) for e in events})
        await tx.conn.execute(
            "SELECT outboxd_lock_aggregate(s, a) FROM unnest($1::text[], $2::text[]) AS k(s, a) "
            "ORDER BY hashtext(s || chr(31) || a)",
            [s for s, _ in aggregates], [a for _, a in aggregates],
        )  # fmt: skip
        shops = sorted({e.shop_id for e in events})
        await tx.conn.execute(
            "INSERT INTO shops (shop_id, created_at) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING", shops, now
        )
        await tx.conn.execute(_LOCK_COUNTERS, shops, ["pending"])
        columns: list[Any] = [outbox_ids]
        for name in ("event_id", "shop_id", "event_type", "aggregate_id", "occurred_at", "payload"):
            columns.append([getattr(e, name) for e in events])
        columns.append(created)
        added = await tx.conn.fetch(_INSERT, *columns, source, priority, backfill_id, now)
        return len(added)

    async def _claim_chunk(
        self, shops: Sequence[str], limit: int, now: dt.datetime, below_id: int | None
    ) -> list[Delivery]:
        stamp = to_text(now)
        ceiling = below_id if below_id is not None else 2**63 - 1
        async with self._pg.transaction() as tx:
            await tx.conn.execute(_LOCK_COUNTERS, sorted(shops), ["leased", "pending"])
            await tx.conn.execute(_TAKE_BACK, stamp, list(shops), self.owner)
            rows = await tx.conn.fetch(
                _CLAIM, self.owner, to_text(now + self.lease), stamp, list(shops), ceiling, limit
            )
        return [delivery_from_row(row) for row in rows]

    async def _claim_heads_chunk(self, wanted: Sequence[tuple[str, int]], now: dt.datetime) -> list[Delivery]:
        stamp = to_text(now)
        shops = [shop for shop, _ in wanted]
        async with self._pg.transaction() as tx:
            await tx.conn.execute(_LOCK_COUNTERS, sorted(shops), ["leased", "pending"])
            await tx.conn.execute(_TAKE_BACK, stamp, shops, self.owner)
            rows = await tx.conn.fetch(
                _CLAIM_HEADS, self.owner, to_text(now + self.lease), stamp, shops, [n for _, n in wanted]
            )
        return [delivery_from_row(row) for row in rows]
