"""Kash.Click's outbox in PostgreSQL: rows read after a cursor that can never pass a row still to commit.

BIGSERIAL ids are taken at INSERT time, not at commit, so id N+1 can be visible while the transaction holding N
is still open: a high-water mark on visible ids would skip N. The rule here (docs/postgresql.md) only lets the
cursor pass ids below a *horizon*: the sequence's last value A, read at a moment after which every transaction
that could hold an id <= A is known to have ended. An INSERT locks the table (RowExclusiveLock) before its
default calls nextval() and keeps the lock until its transaction ends, so the transactions holding such a lock
just after A was read are the only ones that may still hold an id <= A; once none of them is left, every id <= A
is committed (and visible) or gone for good.

New rows are noticed through LISTEN (the trigger of ``outbox.sql``), with a slow poll as a safety net.
"""

from __future__ import annotations

import asyncio
import time
from importlib import resources
from typing import Any

import asyncpg

from outboxd.contract.limits import MAX_COLUMN_READ, MAX_PAYLOAD_BYTES
from outboxd.exceptions import StoreError
from outboxd.store.models import OutboxRow

__all__ = ["NOTIFY_CHANNEL", "SAFETY_POLL", "PgOutboxSource", "outbox_ddl"]

NOTIFY_CHANNEL = "outbox_inserted"
SAFETY_POLL = 5.0
"""Seconds after which :meth:`PgOutboxSource.changed` says True without a notification (a lost NOTIFY, a
reconnection): the bound on how late a row can be noticed."""

_STAMP = """to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
_CUT = f"CASE WHEN octet_length(o.{{0}}) > {MAX_COLUMN_READ} THEN left(o.{{0}}, {MAX_COLUMN_READ}) ELSE o.{{0}} END"
"""A text column as loaded: cut in SQL when it is longer than any row needs (it is refused all the same)."""
_BATCH = (
    "WITH sized AS (SELECT id, octet_length(payload::text) AS size FROM {table} WHERE id > $1 AND id <= $2 "  # noqa: S608 (constants)
    "ORDER BY id LIMIT $3), "
    f"running AS (SELECT id, size, sum(CASE WHEN size <= {MAX_PAYLOAD_BYTES} THEN size ELSE 0 END) "
    "OVER (ORDER BY id) AS loaded, row_number() OVER (ORDER BY id) AS n FROM sized) "
    f"SELECT o.id, {_CUT.format('event_id')}, {_CUT.format('shop_id')}, {_CUT.format('event_type')}, "
    f"{_CUT.format('aggregate_id')}, {_STAMP.format('occurred_at')}, "
    f"CASE WHEN size <= {MAX_PAYLOAD_BYTES} THEN payload::text END, {_STAMP.format('created_at')}, size "
    "FROM running r JOIN {table} o ON o.id = r.id WHERE r.loaded <= $4 OR r.n = 1 ORDER BY o.id"
)
"""The next rows below the horizon, measured before any payload is sent: the window adds up the sizes of the next
``limit`` rows and the payloads come only for the prefix within the byte budget (the first row always, so a big one
still moves on). A payload over the contract's size stays in the table (None, and its size in bytes): refused
unread."""
_WRITERS = (
    "SELECT DISTINCT virtualtransaction FROM pg_locks WHERE locktype = 'relation' AND relation = $1::regclass "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid()"
)
_STILL_RUNNING = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'relation' AND relation = $1::regclass "
    "AND virtualtransaction = ANY($2::text[])"
)


def outbox_ddl() -> str:
    """The outbox table (contract version 1) and its NOTIFY trigger, for Kash.Click's schema and for tests."""
    return resources.files("outboxd.outbox").joinpath("outbox.sql").read_text(encoding="utf-8")


class PgOutboxSource:
    """The ``outbox`` table of a PostgreSQL database, read in id order below the safe horizon.

    Use as ``async with PgOutboxSource(url) as source:``. Same interface as the SQLite ``OutboxSource``.
    """

    name = "outbox"

    def __init__(self, url: str, *, table: str = "outbox", safety_poll: float = SAFETY_POLL) -> None:
        self.url = url
        self.table = table
        self.safety_poll = safety_poll
        self._conn: asyncpg.Connection | None = None
        self._busy = asyncio.Lock()
        """One query at a time on the one connection: the tail and a shop's first connection (``last_id``) share it."""
        self._sequence = ""
        self._notified = True
        self._polled_at = 0.0
        self._horizon = 0
        self._pending: tuple[int, list[str]] | None = None

    async def __aenter__(self) -> PgOutboxSource:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> None:
        try:
            conn = await asyncpg.connect(self.url, server_settings={"application_name": "outboxd-tail"})
        except (OSError, asyncpg.PostgresError) as exc:
            raise StoreError(f"outbox database: cannot connect: {exc}") from exc
        try:
            sequence = await conn.fetchval("SELECT pg_get_serial_sequence($1, 'id')", self.table)
            if sequence is None:
                raise StoreError(f"outbox database: {self.table}.id is not a BIGSERIAL column")
            await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
        except asyncpg.PostgresError as exc:
            await conn.close()
            raise StoreError(f"outbox database: {exc}") from exc
        except BaseException:
            await conn.close()
            raise
        self._conn, self._sequence, self._notified = conn, str(sequence), True

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    def _on_notify(self, *_args: Any) -> None:
        self._notified = True

    async def changed(self) -> bool:
        """True on a notification, while a horizon waits for open transactions, or every ``safety_poll`` s."""
        now = time.monotonic()
        if self._notified or self._pending is not None or now - self._polled_at >= self.safety_poll:
            self._notified, self._polled_at = False, now
            return True
        return False

    async def fetch_after(self, last_id: int, limit: int, max_bytes: int) -> list[OutboxRow]:
        """Rows with ``last_id < id <= horizon`` in id order, at most ``limit`` and ``max_bytes`` of payloads (one
        row at least; see the module's docstring)."""
        horizon = await self.horizon()
        if horizon <= last_id:
            return []
        rows = await self._fetch(_BATCH.format(table=self.table), last_id, horizon, limit, max_bytes)
        return [OutboxRow(*row) for row in rows]

    async def horizon(self) -> int:
        """The highest id below which every row is final; moves on when the writers seen last time have ended."""
        if self._pending is not None:
            last_value, writers = self._pending
            if await self._fetchval(_STILL_RUNNING, self.table, writers):
                return self._horizon
            self._horizon, self._pending = max(self._horizon, last_value), None
        # The order matters: the sequence first, then the writers (any holder of an id <= it is among them).
        last_value = int(
            await self._fetchval(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {self._sequence}")  # noqa: S608 (the table's own sequence)
        )
        writers = [row[0] for row in await self._fetch(_WRITERS, self.table)]
        if writers:
            self._pending = (last_value, writers)
        else:
            self._horizon = max(self._horizon, last_value)
        return self._horizon

    async def last_id(self) -> int:
        """The highest id in the outbox (0 when empty): the ingestion lag is ``last_id() - cursor``."""
        return int(await self._fetchval(f"SELECT COALESCE(MAX(id), 0) FROM {self.table}"))  # noqa: S608

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        conn = self._open_conn()
        try:
            async with self._busy:
                return list(await conn.fetch(sql, *args))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"outbox database: {exc}") from exc

    async def _fetchval(self, sql: str, *args: Any) -> Any:
        rows = await self._fetch(sql, *args)
        return rows[0][0] if rows else None

    def _open_conn(self) -> asyncpg.Connection:
        if self._conn is None:
            raise StoreError("the outbox source is not open")
        return self._conn
