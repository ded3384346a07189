"""Retention: what the state database forgets about an event once it is settled, and what it keeps for ever.

A delivery settled (delivered, discarded, skipped) more than ``daemon.retention_days`` ago loses its payload and its
attempts' request and response bodies: Pennylane holds the entries, and the bodies only served to understand a
failure long dealt with. What stays for ever is what prevents a duplicate or explains a decision: the delivery row
itself (its ``event_id`` is the dedup memory: an event ingested again is ignored), the piece-number records
(``sent_entries``), the attempts' outcomes, statuses and messages, the audit log. Payloads of ``register.closed``
and ``payment.recorded`` stay too: the Z control reads them, at any date; so do ``reference.updated`` ones: an event
that waited books with the snapshot of its time. A pruned payload reads
``{"pruned": true}`` in a delivery's detail.

Pruning walks a partial index of the settled rows not pruned yet, in batches of short transactions, so it never
holds the writer for long; the daemon runs a pass every hour (:func:`keep_pruning`). SQLite reuses the freed pages
for new rows (the file does not shrink without a ``VACUUM``).
"""

from __future__ import annotations

import asyncio
import datetime as dt

import structlog

from outboxd.store._db import Clock, Database, to_text

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
_DELIVERIES = (
    f"UPDATE deliveries SET pruned = 1, payload = CASE WHEN event_type IN ({', '.join(map(repr, KEPT_PAYLOADS))}) "  # noqa: S608 (constants)
    "THEN payload "
    f"ELSE '{PRUNED_PAYLOAD}' END WHERE id IN ({_DUE})"
)


class Retention:
    """Prunes what is settled and older than an age; see the module's docstring for what goes and what stays."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

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
                pruned = await tx.execute(_DELIVERIES, due)
            total += pruned
            if pruned < _BATCH:
                return total


async def keep_pruning(retention: Retention, age: dt.timedelta, every: float = PRUNE_EVERY) -> None:
    """A pass now, then one every ``every`` seconds, for as long as the daemon runs."""
    while True:
        if pruned := await retention.prune(age):
            log.info("retention.pruned", deliveries=pruned, older_than_days=age.days)
        await asyncio.sleep(every)
