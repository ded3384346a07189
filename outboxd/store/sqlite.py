"""The state database on SQLite: one writer behind an asyncio lock, one reader, SQLite errors translated.

The daemon is the single writer of delivery state. Every write goes through the writer connection under one
asyncio lock, either as one autocommit statement (one round trip to the aiosqlite thread) or as a short explicit
``BEGIN IMMEDIATE`` transaction. Reads use a second connection: in WAL mode they never wait for the writer.

Placeholders: ``$1, $2...`` (the statements shared with PostgreSQL), which SQLite reads as parameters named
``1``, ``2``..., so a list of values is bound by number; SQLite's own statements may use ``?`` or ``:name``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite

from outboxd.exceptions import StoreError
from outboxd.store._db import Params, Row

__all__ = ["BUSY_TIMEOUT_MS", "SqliteDatabase", "SqliteDialect", "SqliteTx", "connect", "in_thread"]

BUSY_TIMEOUT_MS = 5000


def _bind(sql: str, params: Params) -> Params:
    """Values as SQLite binds them: a list by number (``$1`` is the parameter named ``1``), unless the statement
    uses SQLite's positional ``?``."""
    if isinstance(params, Mapping) or "?" in sql:
        return params
    return {str(number): value for number, value in enumerate(params, 1)}


class SqliteDialect:
    """SQLite's JSON functions; a row shrunk in place keeps its page."""

    shrunk_rows_keep_their_pages = True

    def json_field(self, column: str, key: str) -> str:
        return f"json_extract({column}, '$.{key}')"

    def id_list(self, placeholder: str) -> str:
        return f"SELECT value FROM json_each({placeholder})"  # noqa: S608 (a placeholder)


async def connect(path: str, *, uri: bool = False) -> aiosqlite.Connection:
    """Open a connection in autocommit mode with the pragmas every state connection needs."""
    try:
        conn = await aiosqlite.connect(path, isolation_level=None, uri=uri)
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {path}: {exc}") from exc
    return conn


async def in_thread(conn: aiosqlite.Connection, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(raw_connection, *args)`` on the connection's own thread: one trip, however many statements.

    aiosqlite's public calls cost one trip each (and a cursor close another); the hot path batches instead.
    ``_execute`` is aiosqlite's own queue to its thread (what every public call uses).
    """
    return await conn._execute(lambda: fn(conn._conn, *args, **kwargs))  # type: ignore[no-untyped-call]


def _changes(raw: sqlite3.Connection, sql: str, params: Any, *, many: bool = False) -> int:
    cursor = raw.executemany(sql, params) if many else raw.execute(sql, params)
    try:
        return cursor.rowcount
    finally:
        cursor.close()


Done = tuple[int, list[Row]]
"""A group-committed statement's outcome: the rows it changed, and those it returned (RETURNING)."""
Unit = list[tuple[str, Params]]
"""Statements of one caller of a group commit: committed together or not at all."""


def _done(raw: sqlite3.Connection, sql: str, params: Params) -> Done:
    cursor = raw.execute(sql, params)
    try:
        rows = cursor.fetchall()
        return cursor.rowcount, rows
    finally:
        cursor.close()


def _unit(raw: sqlite3.Connection, unit: Unit) -> list[Done] | sqlite3.Error:
    """One caller's statements; a failed statement undoes its unit alone (a savepoint when there are several)."""
    if len(unit) == 1:
        try:
            return [_done(raw, *unit[0])]
        except sqlite3.Error as exc:
            return exc
    raw.execute("SAVEPOINT unit")
    try:
        results = [_done(raw, sql, params) for sql, params in unit]
    except sqlite3.Error as exc:
        raw.execute("ROLLBACK TO unit")
        raw.execute("RELEASE unit")
        return exc
    raw.execute("RELEASE unit")
    return results


def _group(raw: sqlite3.Connection, batch: list[Unit]) -> list[list[Done] | sqlite3.Error] | BaseException:
    """The units of one group commit in one transaction; a failed unit fails alone.

    Returns each unit's outcome or error, or the error that rolled the whole transaction back.
    """
    if len(batch) == 1 and len(batch[0]) == 1:  # alone: one autocommit statement
        return [_unit(raw, batch[0])]
    results: list[list[Done] | sqlite3.Error] = []
    try:
        raw.execute("BEGIN IMMEDIATE")
        results = [_unit(raw, unit) for unit in batch]
        raw.execute("COMMIT")
    except BaseException as exc:  # handed back to the event loop, which decides
        try:
            raw.rollback()
        except sqlite3.Error as undo:
            return undo
        return exc
    return results


class SqliteTx:
    """The statements of one write transaction (see :meth:`SqliteDatabase.transaction`)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            return list(await self._conn.execute_fetchall(sql, _bind(sql, params)))
        except sqlite3.Error as exc:
            raise StoreError(f"state database: {exc}") from exc

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return the number of rows it changed (one trip to the connection's thread)."""
        try:
            count: int = await in_thread(self._conn, _changes, sql, _bind(sql, params))
        except sqlite3.Error as exc:
            raise StoreError(f"state database: {exc}") from exc
        return count

    async def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        """Run one statement per row; return the rows changed by the statements (not by their triggers)."""
        try:
            count: int = await in_thread(self._conn, _changes, sql, [_bind(sql, row) for row in rows], many=True)
        except sqlite3.Error as exc:
            raise StoreError(f"state database: {exc}") from exc
        return count


class SqliteDatabase:
    """The writer and reader connections of the state database (a :class:`outboxd.store.Database`)."""

    dialect = SqliteDialect()

    def __init__(self, path: str, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._lock = asyncio.Lock()
        self._queued: list[tuple[Unit, asyncio.Future[list[Done]]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._write = SqliteTx(writer)
        self._read = SqliteTx(reader)

    @classmethod
    async def open(cls, path: str) -> SqliteDatabase:
        """Open (creating the file if needed) in WAL mode with synchronous=NORMAL (see docs/state-store.md)."""
        writer = await connect(path)
        try:
            mode = await SqliteTx(writer).fetchone("PRAGMA journal_mode = WAL")
            if mode is None or str(mode[0]).lower() != "wal":
                raise StoreError(f"{path}: cannot switch the state database to WAL mode")
            for pragma in ("synchronous = NORMAL", "foreign_keys = ON"):
                await SqliteTx(writer).execute(f"PRAGMA {pragma}")
            reader = await connect(path)
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader)

    async def close(self) -> None:
        if self._flusher is not None:
            await self._flusher
        async with self._lock:
            await self._reader.close()
            await self._writer.close()

    async def read(self, sql: str, params: Params = ()) -> list[Row]:
        """One read statement on the reader connection (its own short read transaction)."""
        return await self._read.fetchall(sql, params)

    async def read_one(self, sql: str, params: Params = ()) -> Row | None:
        return await self._read.fetchone(sql, params)

    async def write(self, sql: str, params: Params = ()) -> int:
        """One write statement, group-committed with the others queued meanwhile; return the rows it changed.

        Concurrent callers (the lanes settling their deliveries) share one transaction, hence one WAL commit;
        each caller resumes only after that commit.
        """
        return (await self._group_commit([(sql, _bind(sql, params))]))[0][0]

    async def write_rows(self, sql: str, params: Params = ()) -> list[Row]:
        """One write statement with a RETURNING clause, group-committed like :meth:`write`; return its rows."""
        return (await self._group_commit([(sql, _bind(sql, params))]))[0][1]

    async def write_many(self, statements: Sequence[tuple[str, Params]]) -> list[int]:
        """Write statements committed together or not at all, group-committed like :meth:`write`.

        One caller, one wake-up: the end of a delivery is one unit instead of one write per row it touches.
        """
        return [changed for changed, _ in await self._group_commit([(sql, _bind(sql, p)) for sql, p in statements])]

    async def _group_commit(self, unit: Unit) -> list[Done]:
        done: asyncio.Future[list[Done]] = asyncio.get_running_loop().create_future()
        self._queued.append((unit, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="store-group-commit")
        return await done

    async def _flush(self) -> None:
        async with self._lock:
            while self._queued:
                batch, self._queued = self._queued, []
                try:
                    outcome = await in_thread(self._writer, _group, [unit for unit, _ in batch])
                except BaseException as exc:  # cancelled while the batch was on the thread
                    outcome = exc
                    if not isinstance(exc, Exception):
                        _settle(batch, exc)
                        raise
                _settle(batch, outcome)

    async def write_returning(self, sql: str, params: Params = ()) -> list[Row]:
        """One autocommit write statement with a RETURNING clause."""
        async with self._lock:
            return await self._write.fetchall(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTx]:
        """A short ``BEGIN IMMEDIATE`` transaction: committed on exit, rolled back on any exception."""
        async with self._lock:
            try:  # BEGIN inside: cancelled while it waits, it still runs on the thread and must be rolled back
                await self._write.execute("BEGIN IMMEDIATE")
                yield self._write
                await self._write.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def _rollback(self) -> None:
        try:
            await self._writer.rollback()
        except sqlite3.Error as exc:
            raise StoreError(f"state database: rollback failed: {exc}") from exc

    @property
    def writer(self) -> aiosqlite.Connection:
        """The raw writer connection, for migrations only (they run before anything else)."""
        return self._writer


def _settle(
    batch: list[tuple[Unit, asyncio.Future[list[Done]]]], outcome: list[list[Done] | sqlite3.Error] | BaseException
) -> None:
    """Wake each caller of a group commit with its unit's results, or the error that undid the unit or the batch."""
    for index, (_statements, done) in enumerate(batch):
        result = outcome if isinstance(outcome, BaseException) else outcome[index]
        if done.done():
            continue
        if isinstance(result, list):
            done.set_result(result)
        elif isinstance(result, sqlite3.Error):
            done.set_exception(StoreError(f"state database: {result}"))
        else:
            done.set_exception(StoreError(f"not committed: {result}"))
