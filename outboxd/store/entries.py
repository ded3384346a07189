"""Sent entries (piece_number <-> Pennylane id, recorded before the POST) and the per-attempt history."""

from __future__ import annotations

import datetime as dt

from outboxd.exceptions import PieceNumberTaken, StoreError
from outboxd.store._db import Clock, Database, Params, Row, from_text, to_text
from outboxd.store.models import Attempt, AttemptOutcome, SentEntry

__all__ = ["Entries", "attempt_from_row", "entry_from_row"]

ENTRY_COLUMNS = (
    "id, shop_id, piece_number, delivery_id, journal_id, entry_date, state, pennylane_id, body_hash, "
    "created_at, updated_at"
)
ATTEMPT_COLUMNS = (
    "id, delivery_id, started_at, finished_at, outcome, http_status, error_class, message, request_body, response_body"
)


def entry_from_row(r: Row) -> SentEntry:
    return SentEntry(
        r["id"], r["shop_id"], r["piece_number"], r["delivery_id"], r["journal_id"], r["entry_date"], r["state"],
        r["pennylane_id"], r["body_hash"], from_text(r["created_at"]), from_text(r["updated_at"]),
    )  # fmt: skip


def attempt_from_row(r: Row) -> Attempt:
    return Attempt(
        r["id"], r["delivery_id"], from_text(r["started_at"]), from_text(r["finished_at"]), r["outcome"],
        r["http_status"], r["error_class"], r["message"], r["request_body"], r["response_body"],
    )  # fmt: skip


class Entries:
    """What was sent to Pennylane. The dedup rule: :meth:`record` before the POST, :meth:`mark_posted` after."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def get(self, shop_id: str, piece_number: str) -> SentEntry | None:
        row = await self._db.read_one(
            f"SELECT {ENTRY_COLUMNS} FROM sent_entries WHERE shop_id = $1 AND piece_number = $2",  # noqa: S608 (constant columns)
            (shop_id, piece_number),
        )
        return None if row is None else entry_from_row(row)

    async def of_delivery(self, delivery_id: int) -> list[SentEntry]:
        rows = await self._db.read(
            f"SELECT {ENTRY_COLUMNS} FROM sent_entries WHERE delivery_id = $1 ORDER BY id",  # noqa: S608 (constant columns)
            (delivery_id,),
        )
        return [entry_from_row(r) for r in rows]

    async def record_first(
        self, shop_id: str, piece_number: str, delivery_id: int, journal_id: int, entry_date: dt.date | str,
        body_hash: str,
    ) -> SentEntry | None:  # fmt: skip
        """Record the entry as ``recorded`` before its first POST: None when it is new (post it), else the entry
        as recorded earlier for this delivery (posted: skip it; otherwise look it up before posting again).

        The delivery's hot path: one statement when the entry is new. A piece_number recorded by a reconcile
        (no delivery: found in Pennylane after a restore) counts as this delivery's; one used by another delivery
        raises PieceNumberTaken, nothing sent.
        """
        now = to_text(self._clock())
        day = entry_date if isinstance(entry_date, str) else entry_date.isoformat()
        if await self._db.write_rows(
            "INSERT INTO sent_entries (shop_id, piece_number, delivery_id, journal_id, entry_date, state, body_hash, "
            "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'recorded', $6, $7, $7) "
            "ON CONFLICT (shop_id, piece_number) DO NOTHING RETURNING id",
            (shop_id, piece_number, delivery_id, journal_id, day, body_hash, now),
        ):
            return None
        known = await self.get(shop_id, piece_number)
        if known is None:
            raise StoreError(f"piece_number {piece_number} of shop {shop_id}: recorded and gone at once")
        if known.delivery_id is not None and known.delivery_id != delivery_id:
            raise PieceNumberTaken(shop_id, piece_number, known.delivery_id)
        return known

    async def mark_posted(self, shop_id: str, piece_number: str, pennylane_id: int) -> None:
        await self._set_state(shop_id, piece_number, "posted", pennylane_id)

    def posted_statement(self, shop_id: str, piece_number: str, pennylane_id: int) -> tuple[str, Params]:
        """:meth:`mark_posted` as a statement, for :meth:`Store.settle_delivered`."""
        return self._state_statement(shop_id, piece_number, "posted", pennylane_id)

    async def mark_unknown(self, shop_id: str, piece_number: str) -> None:
        """The POST left and no answer came: look the piece_number up in Pennylane before posting again."""
        await self._set_state(shop_id, piece_number, "unknown", None)

    async def _set_state(self, shop_id: str, piece_number: str, state: str, pennylane_id: int | None) -> None:
        changed = await self._db.write(*self._state_statement(shop_id, piece_number, state, pennylane_id))
        if changed != 1:
            raise StoreError(f"no recorded entry {piece_number} for shop {shop_id}: record it before posting")

    def _state_statement(
        self, shop_id: str, piece_number: str, state: str, pennylane_id: int | None
    ) -> tuple[str, Params]:
        return (
            "UPDATE sent_entries SET state = $1, pennylane_id = COALESCE($2, pennylane_id), updated_at = $3 "
            "WHERE shop_id = $4 AND piece_number = $5",
            (state, pennylane_id, to_text(self._clock()), shop_id, piece_number),
        )

    async def record_attempt(
        self,
        delivery_id: int,
        *,
        started_at: dt.datetime,
        outcome: AttemptOutcome,
        http_status: int | None = None,
        error_class: str | None = None,
        message: str | None = None,
        request_body: str | None = None,
        response_body: str | None = None,
    ) -> None:
        """One attempt in the history the operator reads. Bodies must be redacted by the caller."""
        await self._db.write(
            *self.attempt_statement(
                delivery_id, started_at=started_at, outcome=outcome, http_status=http_status,
                error_class=error_class, message=message, request_body=request_body, response_body=response_body,
            )
        )  # fmt: skip

    def attempt_statement(
        self,
        delivery_id: int,
        *,
        started_at: dt.datetime,
        outcome: AttemptOutcome,
        http_status: int | None = None,
        error_class: str | None = None,
        message: str | None = None,
        request_body: str | None = None,
        response_body: str | None = None,
    ) -> tuple[str, Params]:
        """:meth:`record_attempt` as a statement, for :meth:`Store.settle_delivered`."""
        return (
            "INSERT INTO attempts (delivery_id, started_at, finished_at, outcome, http_status, error_class, message, "
            "request_body, response_body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            (delivery_id, to_text(started_at), to_text(self._clock()), outcome, http_status, error_class, message,
             request_body, response_body),
        )  # fmt: skip

    async def attempts_of(self, delivery_id: int) -> list[Attempt]:
        rows = await self._db.read(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE delivery_id = $1 ORDER BY id",  # noqa: S608 (constant columns)
            (delivery_id,),
        )
        return [attempt_from_row(r) for r in rows]
