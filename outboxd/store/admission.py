"""Outbox rows made storable before ingestion copies them, and the refused ones failed in the same transaction.

Whatever a row holds (a BLOB ``shop_id``, a NULL, invalid UTF-8, a payload the reader left in the outbox because
it is over 1 MB), ingestion must neither raise nor drop it: nothing about one row may stop the tail or the
dispatcher. ``contract.row.admit`` says what is wrong and what to store instead; the row is then inserted like
any other and failed at once with its contract error, visible to the operator (``ctl failed``, the dashboard)
in its own shop, or in ``QUARANTINE_SHOP`` when its ``shop_id`` is unusable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import structlog

from outboxd.contract.row import admit
from outboxd.store._db import Tx
from outboxd.store.models import OutboxRow

__all__ = ["admitted", "fail_refused"]

log = structlog.get_logger("outboxd.store")

_REFUSE = (
    "UPDATE deliveries SET state = 'failed', last_error_class = 'contract', last_error = $1, updated_at = $2 "
    "WHERE outbox_id = $3 AND state = 'pending'"
)
"""A refused row, just inserted pending, failed without an attempt: only the operator's retry or discard moves it."""


def _instant(text: Any) -> bool:
    """A ``created_at`` the store can read back as an aware instant (the outbox's default is one)."""
    if type(text) is not str:
        return False
    try:
        return dt.datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


def admitted(rows: Sequence[OutboxRow], now: str) -> tuple[list[OutboxRow], list[tuple[str, str, int]]]:
    """The rows as they can be stored, and the values of ``_REFUSE`` for each refused one."""
    stored: list[OutboxRow] = []
    refused: list[tuple[str, str, int]] = []
    for row in rows:
        columns = {"event_id": row.event_id, "shop_id": row.shop_id, "event_type": row.event_type,
                   "aggregate_id": row.aggregate_id, "occurred_at": row.occurred_at}  # fmt: skip
        seen = admit(row.id, columns, row.payload, row.payload_bytes)
        created = row.created_at if _instant(row.created_at) else now  # the database's column, never the producer's
        if seen.error is None and created is row.created_at:
            stored.append(row)
            continue
        kept = seen.columns
        stored.append(OutboxRow(row.id, kept["event_id"], kept["shop_id"], kept["event_type"], kept["aggregate_id"],
                                kept["occurred_at"], kept["payload"], created))  # fmt: skip
        if seen.error is not None:
            refused.append((str(seen.error), now, row.id))
            log.warning("outbox.row_refused", outbox_id=row.id, shop=kept["shop_id"], reason=str(seen.error))
    return stored, refused


async def fail_refused(tx: Tx, refused: Sequence[tuple[str, str, int]]) -> None:
    """Inside the ingestion's transaction, after the insert: each refused row failed with its contract error."""
    if refused:
        await tx.executemany(_REFUSE, refused)
