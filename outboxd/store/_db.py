"""The state database as the store's groups see it: one protocol that both backends implement.

The groups (deliveries, entries, queue, caches...) hold a :class:`Database` and never know which backend is behind
it: SQLite (``store/sqlite.py``) or PostgreSQL (``store/pg/db.py``). A statement both backends run is written once,
with PostgreSQL's numbered placeholders ``$1, $2...``, which SQLite reads natively as parameters named ``1``,
``2``... (each backend binds a list of values its own way; nothing rewrites the text). Where the two dialects
differ, each backend writes its own SQL: the :class:`Dialect` fragments below, and the statements that need
another plan on PostgreSQL (ingestion, claims) in ``store/pg/deliveries.py``. Instants are stored as fixed-width
UTC text, so that text order is time order in both.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from outboxd.exceptions import StoreError

__all__ = [
    "Clock", "Database", "Dialect", "Params", "Row", "Tx", "execute_all", "from_text", "maybe_time", "terms_given",
    "to_text", "utc_now",
]  # fmt: skip

Params = Sequence[Any] | Mapping[str, Any]
"""A statement's values: a list for ``$1, $2...`` (both backends); a mapping for SQLite's own ``:name`` only."""
Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The store's default clock; tests inject their own."""
    return dt.datetime.now(dt.UTC)


def to_text(moment: dt.datetime) -> str:
    """Store instants as fixed-width UTC text, so that text order is time order."""
    if moment.tzinfo is None:
        raise StoreError(f"naive datetime {moment!r}: the store only takes timezone-aware instants")
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")[:-6] + "Z"  # strftime: 3x slower


def from_text(text: str) -> dt.datetime:
    """Read back an instant stored by :func:`to_text` (or the outbox's millisecond form)."""
    return dt.datetime.fromisoformat(text)


def maybe_time(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def terms_given(conditions: Iterable[tuple[str, Any]], values: list[Any]) -> str:
    """The conditions whose value is given (not None), joined by AND: each ``"column op"`` gets the next numbered
    placeholder and its value is appended to ``values``. ``TRUE`` when none is given.

    (Not ``$1 IS NULL OR column = $1``: PostgreSQL types a parameter where it first meets it.)
    """
    terms = []
    for condition, value in conditions:
        if value is not None:
            values.append(value)
            terms.append(f"{condition} ${len(values)}")
    return " AND ".join(terms) or "TRUE"


class Row(Protocol):
    """One result row, read by column name or position (``sqlite3.Row``, ``asyncpg.Record``)."""

    def __getitem__(self, key: Any, /) -> Any: ...


class Dialect(Protocol):
    """The SQL fragments each backend writes its own way."""

    def json_field(self, column: str, key: str) -> str:
        """The text of a top-level ``key`` of the JSON document in ``column`` (NULL when absent)."""
        ...

    def id_list(self, placeholder: str) -> str:
        """A subquery of the ids held by a parameter bound to a JSON array of integers (``[1, 2]``)."""
        ...

    @property
    def shrunk_rows_keep_their_pages(self) -> bool:
        """Whether a row updated smaller keeps its page as full as before (SQLite), instead of being written anew
        with its old version reclaimed later (PostgreSQL's autovacuum): retention then moves such rows to pack them."""
        ...


class Tx(Protocol):
    """The statements of one write transaction (see :meth:`Database.transaction`)."""

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        """Run one statement per row; return the rows changed by the statements (not by their triggers)."""
        ...


async def execute_all(tx: Tx, statements: Sequence[tuple[str, Params]]) -> None:
    """Run ``statements`` in ``tx``, in their order; a run of one same statement goes as one ``executemany``."""
    for sql, run in itertools.groupby(statements, key=lambda statement: statement[0]):
        await tx.executemany(sql, [params for _, params in run])


class Database(Protocol):
    """The state database: reads, writes, and short transactions. Every database error comes out as StoreError."""

    @property
    def dialect(self) -> Dialect: ...

    async def read(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def read_one(self, sql: str, params: Params = ()) -> Row | None: ...

    async def write(self, sql: str, params: Params = ()) -> int:
        """One write statement; return the rows it changed."""
        ...

    async def write_rows(self, sql: str, params: Params = ()) -> list[Row]:
        """One write statement with a RETURNING clause; return its rows."""
        ...

    async def write_returning(self, sql: str, params: Params = ()) -> list[Row]:
        """One write statement with a RETURNING clause, on its own (never joined with other callers' writes)."""
        ...

    async def write_many(self, statements: Sequence[tuple[str, Params]]) -> list[int]:
        """Write statements committed together or not at all; return the rows each changed."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """A short transaction: committed on exit, rolled back on any exception."""
        ...

    async def close(self) -> None: ...
