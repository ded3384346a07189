"""The outbox as the daemon tails it, whichever database holds it: one :class:`OutboxReader`.

What differs between the two sources is inside them: how a new row is noticed (:meth:`OutboxReader.changed`:
SQLite's ``PRAGMA data_version``, PostgreSQL's NOTIFY with a safety poll) and which ids are safe to pass (SQLite:
every committed one; PostgreSQL: those below the horizon, docs/postgresql.md).
"""

from __future__ import annotations

from typing import Protocol, Self

from outboxd.outbox.postgres import PgOutboxSource
from outboxd.outbox.sqlite import OutboxSource
from outboxd.store import OutboxRow

__all__ = ["OutboxReader", "outbox_reader"]


class OutboxReader(Protocol):
    """Kash.Click's outbox, read after a cursor (the store's ``EventSource``); use it as ``async with``."""

    name: str

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    async def changed(self) -> bool:
        """Whether new rows may have come since the last call (cheap enough to ask every 50 ms)."""
        ...

    async def fetch_after(self, last_id: int, limit: int, max_bytes: int) -> list[OutboxRow]:
        """Rows after ``last_id`` in id order, at most ``limit`` and ``max_bytes`` of payloads (one row at least,
        whatever its size), never passing one that may still commit; a payload is measured before it is loaded."""
        ...

    async def last_id(self) -> int:
        """The highest id in the outbox (0 when empty)."""
        ...


def outbox_reader(location: str, *, postgres: bool) -> OutboxReader:
    """The reader of the outbox at ``location``: a ``postgresql://`` URL (``postgres``) or a SQLite file path."""
    return PgOutboxSource(location) if postgres else OutboxSource(location)
