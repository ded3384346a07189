"""Reading Kash.Click's outbox in a SQLite file: the narrow source the daemon tails (``postgres.py`` for PostgreSQL).

The daemon only reads this file. In WAL mode a reader never blocks Kash.Click's INSERT, and each read here is one
autocommit SELECT, so no read transaction stays open to pin the WAL. ``mode=rw`` never creates the file.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import aiosqlite

from outboxd.contract.limits import MAX_COLUMN_READ, MAX_PAYLOAD_BYTES
from outboxd.exceptions import StoreError
from outboxd.store.models import OutboxRow
from outboxd.store.sqlite import connect

__all__ = ["OutboxSource"]


def _read(column: str) -> str:
    """The column as loaded: cut to ``MAX_COLUMN_READ`` bytes in SQL when it is longer (no row needs that much)."""
    return (f"CASE WHEN length(CAST(o.{column} AS BLOB)) > {MAX_COLUMN_READ} "
            f"THEN substr(o.{column}, 1, {MAX_COLUMN_READ}) ELSE o.{column} END")  # fmt: skip


_BATCH = (
    "WITH sized AS (SELECT id, length(CAST(payload AS BLOB)) AS size FROM outbox WHERE id > ? ORDER BY id LIMIT ?), "  # noqa: S608 (constants)
    f"running AS (SELECT id, size, sum(CASE WHEN size <= {MAX_PAYLOAD_BYTES} THEN size ELSE 0 END) "
    "OVER (ORDER BY id) AS loaded, row_number() OVER (ORDER BY id) AS n FROM sized) "
    f"SELECT o.id, {_read('event_id')}, {_read('shop_id')}, {_read('event_type')}, {_read('aggregate_id')}, "
    f"{_read('occurred_at')}, CASE WHEN size <= {MAX_PAYLOAD_BYTES} THEN payload END, {_read('created_at')}, size "
    "FROM running r JOIN outbox o ON o.id = r.id WHERE r.loaded <= ? OR r.n = 1 ORDER BY o.id"
)
"""The next rows, measured before any payload is loaded: the window adds up the sizes of the next ``limit`` rows
and the payloads are read only for the prefix within the byte budget (the first row always, so a big one still
moves on). A payload over the contract's size stays in the file (None, and its size in bytes): refused unread;
another column longer than ``MAX_COLUMN_READ`` bytes is cut before it is loaded (it is refused all the same)."""


def _escaped(data: bytes) -> str:
    """Text that is not UTF-8, kept readable for ingestion to refuse (``contract.row``) instead of failing the read."""
    return data.decode("utf-8", "surrogateescape")


class OutboxSource:
    """The outbox table of one SQLite file, read in id order after a cursor.

    Use as ``async with OutboxSource(path) as source:``. :meth:`changed` is a ``PRAGMA data_version`` check,
    cheap enough to poll every 50 ms; it says whether any other connection committed since the last call.
    """

    name = "outbox"

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn: aiosqlite.Connection | None = None
        self._data_version: int | None = None

    async def __aenter__(self) -> OutboxSource:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> None:
        # Checked before connecting: a failed aiosqlite connect leaves its thread calling back a loop that may be gone.
        if not await asyncio.to_thread(os.path.isfile, self.path):
            raise StoreError(f"outbox database {self.path} does not exist (Kash.Click creates it)")
        conn = await connect(f"file:{quote(self.path)}?mode=rw", uri=True)
        try:
            mode = await conn.execute_fetchall("PRAGMA journal_mode")
            table = await conn.execute_fetchall("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'")
        except sqlite3.Error as exc:
            await conn.close()
            raise StoreError(f"outbox database {self.path}: {exc}") from exc
        problem = ""
        if not table:
            problem = "has no outbox table"
        elif str(next(iter(mode))[0]).lower() != "wal":
            problem = (
                "is not in WAL mode: Kash.Click's INSERT would wait for the daemon's reads (PRAGMA journal_mode=WAL)"
            )
        if problem:
            await conn.close()
            raise StoreError(f"outbox database {self.path} {problem}")
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def changed(self) -> bool:
        """True when a commit may have added rows since the previous call (always True on the first call)."""
        rows = await self._read("PRAGMA data_version", ())
        version = int(rows[0][0])
        changed = version != self._data_version
        self._data_version = version
        return changed

    async def fetch_after(self, last_id: int, limit: int, max_bytes: int) -> list[OutboxRow]:
        """Rows with ``id > last_id`` in id order, at most ``limit`` and ``max_bytes`` of payloads (one row at
        least); read again with escapes if one is not UTF-8."""
        params = (last_id, limit, max_bytes)
        try:
            rows = await self._read(_BATCH, params)
        except StoreError as exc:
            if not isinstance(exc.__cause__, sqlite3.OperationalError) or "decode" not in str(exc.__cause__):
                raise
            rows = await self._read(_BATCH, params, text=_escaped)
        return [OutboxRow(*row) for row in rows]

    async def last_id(self) -> int:
        """The highest id in the outbox (0 when empty): the ingestion lag is ``last_id() - cursor``."""
        rows = await self._read("SELECT COALESCE(MAX(id), 0) FROM outbox", ())
        return int(rows[0][0])

    async def _read(self, sql: str, params: tuple[int, ...], text: Callable[[bytes], str] = str) -> list[sqlite3.Row]:
        if self._conn is None:
            raise StoreError("the outbox source is not open")
        self._conn.text_factory = text  # str: sqlite3's own decoding, the fast one
        try:
            return list(await self._conn.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise StoreError(f"outbox database {self.path}: {exc}") from exc
        finally:
            self._conn.text_factory = str
