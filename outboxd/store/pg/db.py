"""The state database on PostgreSQL: a connection pool implementing the store's ``Database`` protocol.

The shared groups' statements come in as written (``$1, $2...`` placeholders, a list of values); the few SQL forms
that differ from SQLite's are this backend's :class:`PgDialect`. PostgreSQL takes concurrent writers itself, so
there is no writer lock and no home-made group commit here: single statements autocommit on any pooled
connection, multi-statement work runs in a READ COMMITTED transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from outboxd.exceptions import StoreError
from outboxd.store._db import Params

__all__ = ["PgDatabase", "PgDialect", "PgTx", "pg_errors"]

pg_errors = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)
"""What asyncpg raises for a database or connection problem; turned into StoreError at this boundary."""


def _count(status: str | None) -> int:
    """Rows changed, from a command tag such as ``UPDATE 3`` or ``INSERT 0 1``."""
    last = (status or "").rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _values(params: Params) -> Sequence[Any]:
    if isinstance(params, Mapping):
        raise StoreError(f"state database: PostgreSQL binds numbered parameters ($1, $2...), not {sorted(params)}")
    return params


class PgDialect:
    """PostgreSQL's JSON operators (payloads are stored as text, as in SQLite); an update writes a new row version."""

    shrunk_rows_keep_their_pages = False

    def json_field(self, column: str, key: str) -> str:
        return f"({column}::jsonb ->> '{key}')"

    def id_list(self, placeholder: str) -> str:
        return f"SELECT value::bigint FROM jsonb_array_elements_text({placeholder}::jsonb) AS ids(value)"  # noqa: S608 (a placeholder)


class PgTx:
    """The statements of one transaction (or of autocommit calls) on one connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        try:
            return list(await self.conn.fetch(sql, *_values(params)))
        except pg_errors as exc:
            raise StoreError(f"state database: {exc}") from exc

    async def fetchone(self, sql: str, params: Params = ()) -> Any:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = ()) -> int:
        try:
            return _count(await self.conn.execute(sql, *_values(params)))
        except pg_errors as exc:
            raise StoreError(f"state database: {exc}") from exc

    async def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        """One statement per row on one prepared statement; return the rows they changed (like SQLite's)."""
        total = 0
        statement = None
        try:
            for params in rows:
                if statement is None:
                    statement = await self.conn.prepare(sql)
                await statement.fetch(*_values(params))
                total += _count(statement.get_statusmsg())
        except pg_errors as exc:
            raise StoreError(f"state database: {exc}") from exc
        return total


IDLE_IN_TRANSACTION = 10_000
"""Milliseconds a transaction of the daemon may stand idle before PostgreSQL ends its session. The daemon's own
transactions last milliseconds; a process frozen in the middle of one (a paused VM, heavy swapping, SIGSTOP) would
otherwise hold its row locks until its TCP connection dies, and every replica's claims for those shops would wait
behind it. The grant's hold around a refresh, idle while the token endpoint answers, lifts it for its transaction
(``store/pg/connections.py``)."""


def server_settings(application: str) -> dict[str, str]:
    """A connection's settings: its name in ``pg_stat_activity``, and the bound on an idle open transaction."""
    return {"application_name": application, "idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION)}


class PgDatabase:
    """A pool of connections to the state database (``url``: ``postgresql://...``): a store ``Database``."""

    dialect = PgDialect()

    def __init__(self, url: str, pool: asyncpg.Pool) -> None:
        self.path = url
        self.pool = pool

    @classmethod
    async def open(cls, url: str, *, max_size: int = 10) -> PgDatabase:
        """``max_size`` per replica: three replicas and their outbox tails stay far below PostgreSQL's default 100
        connections (20 each ran a shared server out of them: "too many clients already")."""
        try:
            pool = await asyncpg.create_pool(
                url, min_size=2, max_size=max_size, server_settings=server_settings("outboxd")
            )
        except pg_errors as exc:
            raise StoreError(f"state database: cannot connect: {exc}") from exc
        return cls(url, pool)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[PgTx]:
        """One pooled connection in autocommit mode."""
        try:
            async with self.pool.acquire() as conn:
                yield PgTx(conn)
        except pg_errors as exc:
            raise StoreError(f"state database: {exc}") from exc

    async def read(self, sql: str, params: Params = ()) -> list[Any]:
        async with self.connection() as tx:
            return await tx.fetchall(sql, params)

    async def read_one(self, sql: str, params: Params = ()) -> Any:
        async with self.connection() as tx:
            return await tx.fetchone(sql, params)

    async def write(self, sql: str, params: Params = ()) -> int:
        async with self.connection() as tx:
            return await tx.execute(sql, params)

    async def write_rows(self, sql: str, params: Params = ()) -> list[Any]:
        async with self.connection() as tx:
            return await tx.fetchall(sql, params)

    write_returning = write_rows

    async def write_many(self, statements: Sequence[tuple[str, Params]]) -> list[int]:
        """Write statements committed together or not at all: one transaction (no group commit to join here)."""
        async with self.transaction() as tx:
            return [await tx.execute(sql, params) for sql, params in statements]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgTx]:
        """A short transaction: committed on exit, rolled back on any exception."""
        async with self.connection() as tx:
            try:
                async with tx.conn.transaction():
                    yield tx
            except pg_errors as exc:
                raise StoreError(f"state database: {exc}") from exc
