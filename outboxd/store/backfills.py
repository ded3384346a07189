"""Backfills: importing a shop's history, their state and progress (the events go in with a backfill_id)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from outboxd.exceptions import StoreError
from outboxd.store._db import Clock, Database, Row, from_text, maybe_time, terms_given, to_text
from outboxd.store.audit import append_audit
from outboxd.store.models import Backfill, BackfillMode, BackfillState

__all__ = ["Backfills"]

_COLUMNS = (
    "id, shop_id, start_date, end_date, mode, state, total_events, imported_events, error, "
    " created_by, created_at, started_at, finished_at"
)


def _from_row(r: Row) -> Backfill:
    return Backfill(
        r["id"], r["shop_id"], r["start_date"], r["end_date"], r["mode"], r["state"], r["total_events"],
        r["imported_events"], r["error"], r["created_by"],
        from_text(r["created_at"]), maybe_time(r["started_at"]), maybe_time(r["finished_at"]),
    )  # fmt: skip


class Backfills:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def create(
        self, shop_id: str, start_date: dt.date, end_date: dt.date | None, mode: BackfillMode, actor: str
    ) -> Backfill:
        now = to_text(self._clock())
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO backfills (shop_id, start_date, end_date, mode, created_by, created_at, updated_at) "  # noqa: S608 (constant columns)
                f"VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}",
                (shop_id, start_date.isoformat(), None if end_date is None else end_date.isoformat(), mode, actor,
                 now, now),
            )  # fmt: skip
            assert row is not None
            detail = {"start_date": start_date.isoformat(), "mode": mode}
            await append_audit(tx, now, actor, "backfill.create", shop_id, f"backfill:{row['id']}", detail)
        return _from_row(row)

    async def get(self, backfill_id: int) -> Backfill | None:
        row = await self._db.read_one(f"SELECT {_COLUMNS} FROM backfills WHERE id = $1", (backfill_id,))  # noqa: S608 (constant columns)
        return None if row is None else _from_row(row)

    async def list(self, shop_id: str | None = None) -> list[Backfill]:
        values: list[Any] = []
        terms = terms_given([("shop_id =", shop_id)], values)
        rows = await self._db.read(f"SELECT {_COLUMNS} FROM backfills WHERE {terms} ORDER BY id DESC", values)  # noqa: S608 (constant columns)
        return [_from_row(r) for r in rows]

    async def update(
        self,
        backfill_id: int,
        *,
        state: BackfillState | None = None,
        total_events: int | None = None,
        imported_events: int | None = None,
        error: str | None = None,
    ) -> Backfill:
        """Move a backfill on; ``started_at``/``finished_at`` are set when it enters running / a final state."""
        now = to_text(self._clock())
        row = await self._db.write_returning(
            "UPDATE backfills SET state = COALESCE($1, state), total_events = COALESCE($2, total_events), "  # noqa: S608 (constant columns)
            "imported_events = COALESCE($3, imported_events), error = COALESCE($4, error), "
            "started_at = CASE WHEN $1 = 'running' THEN COALESCE(started_at, $5) ELSE started_at END, "
            "finished_at = CASE WHEN $1 IN ('done', 'failed', 'cancelled') THEN $5 ELSE finished_at END, "
            f"updated_at = $5 WHERE id = $6 RETURNING {_COLUMNS}",
            (state, total_events, imported_events, error, now, backfill_id),
        )
        if not row:
            raise StoreError(f"no backfill {backfill_id}")
        return _from_row(row[0])

    async def progress(self, backfill_id: int) -> dict[str, int]:
        """Its events by delivery state, counted from the deliveries themselves."""
        rows = await self._db.read(
            "SELECT state, count(*) FROM deliveries WHERE backfill_id = $1 GROUP BY state", (backfill_id,)
        )
        return {r[0]: r[1] for r in rows}
