"""Lettering's state (docs/accounting.md, "Lettering"): per order, its customer lines and where the step stands.

The delivery path records a ticket's or a payment's customer line in the unit of writes that settles its delivery
(``line_statements``), so a crash never leaves a booked line unknown here. A line is its entry's piece_number and
its place in the entry (``line_no``): a day's entry (daily booking) holds the customer lines of many orders.
``outboxd.delivery.lettering`` decides when an order is due and letters it; this module only keeps. An order's row
also keeps its ticket number, which names the ticket in its payments' labels.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from outboxd.store._db import Clock, Database, Params, maybe_time, to_text

__all__ = ["Lettering", "LetteringLine", "Letterings"]

_LINES = (
    "SELECT l.piece_number, l.line_no, l.label, l.amount, l.line_id, l.lettered, e.pennylane_id FROM lettering_lines l "
    "LEFT JOIN sent_entries e ON e.shop_id = l.shop_id AND e.piece_number = l.piece_number AND e.state = 'posted' "
    "WHERE l.shop_id = $1 AND l.order_id = $2 ORDER BY l.piece_number, l.line_no"
)
_ROW = (
    "SELECT ticket_number, state, attempts, next_attempt_at, last_error FROM letterings "
    "WHERE shop_id = $1 AND order_id = $2"
)


@dataclass(frozen=True, slots=True)
class LetteringLine:
    """A customer-account line: ``line_no`` in the entry ``piece_number``, ``amount`` in cents, debit positive;
    ``entry_id`` once posted. ``label`` tells it from the entry's other customer lines (None: the entry's only line
    on the account, an entry of one event)."""

    piece_number: str
    amount: int
    line_id: int | None
    lettered: bool
    entry_id: int | None
    line_no: int = 0
    label: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        return self.piece_number, self.line_no


@dataclass(frozen=True, slots=True)
class Lettering:
    """One order's lettering: ``state`` is open (nothing to letter yet), due (to letter, at ``next_attempt_at``),
    lettered, or failed (waiting for an operator, ``last_error`` says why)."""

    order_id: str
    ticket_number: str | None
    state: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    lines: tuple[LetteringLine, ...]


class Letterings:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def order_statement(self, shop_id: str, order_id: str, ticket_number: str | None) -> tuple[str, Params]:
        """The order's row (kept: its state; set: its ticket number when given), for a settle's writes."""
        return (
            "INSERT INTO letterings (shop_id, order_id, ticket_number, updated_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (shop_id, order_id) DO UPDATE SET ticket_number = COALESCE(excluded.ticket_number, "
            "letterings.ticket_number), updated_at = excluded.updated_at",
            (shop_id, order_id, ticket_number, to_text(self._clock())),
        )

    def line_statement(
        self, shop_id: str, order_id: str, piece_number: str, amount: int, line_id: int | None, *, line_no: int = 0,
        label: str | None = None,
    ) -> tuple[str, Params]:
        """Record an entry's customer line (again: its line id is kept), for a settle's writes."""
        return (
            "INSERT INTO lettering_lines (shop_id, order_id, piece_number, line_no, label, line_id, amount) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (shop_id, piece_number, line_no) "
            "DO UPDATE SET line_id = COALESCE(excluded.line_id, lettering_lines.line_id)",
            (shop_id, order_id, piece_number, line_no, label, line_id, amount),
        )

    def line_statements(
        self, shop_id: str, order_id: str, piece_number: str, amount: int, line_id: int | None
    ) -> list[tuple[str, Params]]:
        """An entry of one event's customer line and its order's row, for a settle's writes."""
        return [
            self.line_statement(shop_id, order_id, piece_number, amount, line_id),
            self.order_statement(shop_id, order_id, None),
        ]

    def due_statement(self, shop_id: str, order_id: str, *, after: float = 0.0) -> tuple[str, Params]:
        """The order due ``after`` seconds from now if its lines add up to zero (a failed one waits for its
        operator), for a settle's writes: the lettering task letters it, and after a crash too."""
        at = self._clock() + dt.timedelta(seconds=after)
        return (
            "UPDATE letterings SET state = 'due', next_attempt_at = $3 WHERE shop_id = $1 AND order_id = $2 "
            "AND state <> 'failed' AND (SELECT sum(amount) FROM lettering_lines l "
            "WHERE l.shop_id = $1 AND l.order_id = $2) = 0",
            (shop_id, order_id, to_text(at)),
        )

    async def ticket_number(self, shop_id: str, order_id: str) -> str | None:
        row = await self._db.read_one(
            "SELECT ticket_number FROM letterings WHERE shop_id = $1 AND order_id = $2", (shop_id, order_id)
        )
        return None if row is None else row["ticket_number"]

    async def get(self, shop_id: str, order_id: str) -> Lettering | None:
        row = await self._db.read_one(_ROW, (shop_id, order_id))
        if row is None:
            return None
        lines = tuple(
            LetteringLine(r["piece_number"], int(r["amount"]), r["line_id"], bool(r["lettered"]), r["pennylane_id"],
                          int(r["line_no"]), r["label"])
            for r in await self._db.read(_LINES, (shop_id, order_id))
        )  # fmt: skip
        return Lettering(order_id, row["ticket_number"], row["state"], int(row["attempts"]),
                         maybe_time(row["next_attempt_at"]), row["last_error"], lines)  # fmt: skip

    async def set_line_ids(self, shop_id: str, line_ids: Mapping[tuple[str, int], int]) -> None:
        """Line ids read back from Pennylane, by (piece_number, line_no)."""
        await self._db.write_many([
            ("UPDATE lettering_lines SET line_id = $1 WHERE shop_id = $2 AND piece_number = $3 AND line_no = $4",
             (line, shop_id, piece, line_no))
            for (piece, line_no), line in line_ids.items()
        ])  # fmt: skip

    async def mark(
        self, shop_id: str, order_id: str, state: str, *, at: dt.datetime | None = None, error: str | None = None,
        attempt: bool = False,
    ) -> None:
        """Set the order's state (``due`` at ``at``), its last error, and count an attempt when one was made."""
        await self._db.write(
            "UPDATE letterings SET state = $1, next_attempt_at = $2, last_error = $3, attempts = attempts + $4, "
            "updated_at = $5 WHERE shop_id = $6 AND order_id = $7",
            (state, None if at is None else to_text(at), error, int(attempt), to_text(self._clock()), shop_id,
             order_id),
        )

    async def mark_lettered(self, shop_id: str, order_id: str, lines: list[tuple[str, int]]) -> None:
        """The order lettered, with the lines that were (by (piece_number, line_no)): one unit of writes."""
        now = to_text(self._clock())
        await self._db.write_many([
            *(("UPDATE lettering_lines SET lettered = 1 WHERE shop_id = $1 AND piece_number = $2 AND line_no = $3",
               (shop_id, piece, line_no)) for piece, line_no in lines),
            ("UPDATE letterings SET state = 'lettered', next_attempt_at = NULL, last_error = NULL, "
             "attempts = attempts + 1, updated_at = $1 WHERE shop_id = $2 AND order_id = $3", (now, shop_id, order_id)),
        ])  # fmt: skip

    async def due_shops(self) -> set[str]:
        """The shops with an order due for lettering now: one read, however many shops are known."""
        rows = await self._db.read(
            "SELECT DISTINCT shop_id FROM letterings WHERE state = 'due' AND next_attempt_at <= $1",
            (to_text(self._clock()),),
        )
        return {row[0] for row in rows}

    async def due(self, shop_id: str, limit: int = 50) -> list[str]:
        """Orders of the shop due for lettering now, the longest waiting first."""
        rows = await self._db.read(
            "SELECT order_id FROM letterings WHERE shop_id = $1 AND state = 'due' AND next_attempt_at <= $2 "
            "ORDER BY next_attempt_at LIMIT $3",
            (shop_id, to_text(self._clock()), limit),
        )
        return [row["order_id"] for row in rows]
