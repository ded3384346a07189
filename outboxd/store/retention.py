"""Retention: what the state database forgets about an event once it is settled, and what it keeps for ever.

A delivery settled (delivered, discarded, skipped) more than ``daemon.retention_days`` ago loses its payload, its
attempts' request and response bodies and its posted entries' body hashes: Pennylane holds the entries, and the
bodies only served to understand a failure long dealt with. What stays for ever is what prevents a duplicate or
explains a decision: the delivery row itself (its ``event_id`` is the dedup memory: an event ingested again is
ignored), the piece-number records (``sent_entries``), the attempts' outcomes, statuses and messages, the audit log.
Payloads of ``register.closed`` and ``payment.recorded`` stay too: the Z control reads them, at any date; so do
``reference.updated`` ones: an event that waited books with the snapshot of its time. A pruned payload reads
``{"pruned": true}`` in a delivery's detail.

Pruning walks a partial index of the settled rows not pruned yet, in batches of short transactions, so it never
holds the writer for long; the daemon runs a pass every hour (:func:`keep_pruning`).

SQLite frees space only when rows leave a page: a row shrunk in place keeps its page as full as before (a delivery
row holds a ticket's payload, ~600 B, pruned to 16). So the attempts are copied without their bodies and the
originals deleted, and in SQLite the pruned delivery rows and entries are moved out of their pages and back under
their own ids (the pages they leave are freed or merged, they come back packed), in the batch's transaction. The
freed pages are reused for new rows: what the database keeps per event stays under 1 kB without a ``VACUUM`` (the
file does not shrink, it stops growing by what was pruned). PostgreSQL reclaims the space of rows updated in place
itself (autovacuum).
"""

from __future__ import annotations

import asyncio
import datetime as dt

import structlog

from outboxd.store._db import Clock, Database, Tx, to_text

__all__ = ["KEPT_PAYLOADS", "PRUNED_PAYLOAD", "PRUNE_EVERY", "Retention", "keep_pruning"]

log = structlog.get_logger("outboxd.retention")

PRUNED_PAYLOAD = '{"pruned": true}'
KEPT_PAYLOADS = ("register.closed", "payment.recorded", "reference.updated")
"""Event types whose payload is kept: the Z control compares a closing with its day's payments from them, and an
event that waited books with the reference snapshot of its time (a lane reads every one at start)."""
PRUNE_EVERY = 3600.0
"""Seconds between two passes of the daemon."""
_BATCH = 200

_DUE = (
    "SELECT id FROM deliveries WHERE state IN ('delivered', 'discarded', 'skipped') AND pruned = 0 "
    "AND updated_at < $1 ORDER BY updated_at LIMIT $2"
)
_KEPT_COLUMNS = "delivery_id, started_at, finished_at, outcome, http_status, error_class, message"
_COPY_ATTEMPTS = (
    f"INSERT INTO attempts ({_KEPT_COLUMNS}) SELECT {_KEPT_COLUMNS} FROM attempts "  # noqa: S608 (constants)
    f"WHERE delivery_id IN ({_DUE}) ORDER BY id"
)
_DROP_ATTEMPTS = f"DELETE FROM attempts WHERE delivery_id IN ({_DUE}) AND id <= $3"  # noqa: S608 (constants)
_PRUNED_DELIVERY = (
    f"pruned = 1, payload = CASE WHEN event_type IN ({', '.join(map(repr, KEPT_PAYLOADS))}) THEN payload "
    f"ELSE '{PRUNED_PAYLOAD}' END"
)
_AWAY = -(2**62)
"""Where SQLite's pruned rows wait inside their transaction: below every id, in the same order."""


class _Shrink:
    """Sets ``assignments`` on the rows of ``table`` picked by ``which`` (a condition on the due parameters): in
    place, or (``moved``: SQLite) with the rows moved out of their pages and back under their ids, packed."""

    def __init__(self, table: str, assignments: str, which: str, *, moved: bool) -> None:
        away = f"id = id + {_AWAY}, " if moved else ""
        self._update = f"UPDATE {table} SET {away}{assignments} WHERE {which}"  # noqa: S608 (constants)
        self._back = f"UPDATE {table} SET id = id - {_AWAY} WHERE id < 0" if moved else None  # noqa: S608

    async def run(self, tx: Tx, due: tuple[str, int]) -> int:
        """Shrink the due rows; return how many."""
        count = await tx.execute(self._update, due)
        if self._back is not None:
            await tx.execute(self._back)
        return count


class Retention:
    """Prunes what is settled and older than an age; see the module's docstring for what goes and what stays."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        moved = db.dialect.shrunk_rows_keep_their_pages
        # a posted entry's body hash goes with the bodies: the piece number and its Pennylane id stay
        self._entries = _Shrink("sent_entries", "body_hash = NULL", f"state = 'posted' AND delivery_id IN ({_DUE})",
                                moved=moved)  # fmt: skip
        self._deliveries = _Shrink("deliveries", _PRUNED_DELIVERY, f"id IN ({_DUE})", moved=moved)
        self._moved = moved

    async def prune(self, age: dt.timedelta) -> int:
        """Prune every delivery settled more than ``age`` ago; return how many were pruned now."""
        due = (to_text(self._clock() - age), _BATCH)
        total = 0
        while True:
            async with self._db.transaction() as tx:
                # the attempts are copied without their bodies, the originals deleted: SQLite merges the pages a
                # delete empties and reuses them, while a row shrunk in place would leave its page mostly empty
                last = await tx.fetchone("SELECT coalesce(max(id), 0) FROM attempts")
                await tx.execute(_COPY_ATTEMPTS, due)
                await tx.execute(_DROP_ATTEMPTS, (*due, last[0] if last is not None else 0))
                if self._moved:
                    # ids change for a moment inside the transaction: the references of attempts and entries to
                    # deliveries are checked at its commit, when every row is back under its own id
                    await tx.execute("PRAGMA defer_foreign_keys = ON")
                await self._entries.run(tx, due)
                pruned = await self._deliveries.run(tx, due)
            total += pruned
            if pruned < _BATCH:
                return total


async def keep_pruning(retention: Retention, age: dt.timedelta, every: float = PRUNE_EVERY) -> None:
    """A pass now, then one every ``every`` seconds, for as long as the daemon runs."""
    while True:
        if pruned := await retention.prune(age):
            log.info("retention.pruned", deliveries=pruned, older_than_days=age.days)
        await asyncio.sleep(every)
