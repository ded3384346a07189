"""The Store facade on PostgreSQL: the shared groups over a pooled ``PgDatabase``, PostgreSQL deliveries.

Chosen by ``open_store`` when the state database is a ``postgresql://`` URL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

from outboxd.store._db import Clock, Database
from outboxd.store.models import Cipher
from outboxd.store.pg.db import PgDatabase
from outboxd.store.pg.deliveries import PgDeliveries
from outboxd.store.pg.migrate import apply_pg_migrations
from outboxd.store.store import Store

__all__ = ["PgStore", "open_pg_store"]


class PgStore(Store):
    """The state database on PostgreSQL; the same groups and methods as the SQLite store."""

    def __init__(self, db: PgDatabase, *, owner: str, lease: dt.timedelta, clock: Clock, cipher: Cipher | None) -> None:
        # The groups only use the statement surface that PgDatabase shares with Database (read, write,
        # write_rows, write_many, transaction), in SQLite dialect that pg/sql.py translates.
        shared = cast(Database, db)
        super().__init__(shared, owner=owner, lease=lease, clock=clock, cipher=cipher)
        self.pg = db
        self.deliveries = PgDeliveries(shared, clock, owner, lease)


@asynccontextmanager
async def open_pg_store(
    url: str,
    *,
    owner: str,
    lease: dt.timedelta,
    clock: Clock,
    cipher: Cipher | None = None,
    release_own_leases: bool = True,
) -> AsyncIterator[PgStore]:
    """Connect, bring the schema up to date (one replica at a time), and close the pool on exit."""
    db = await PgDatabase.open(url)
    try:
        async with db.pool.acquire() as conn:
            await apply_pg_migrations(conn)
        store = PgStore(db, owner=owner, lease=lease, clock=clock, cipher=cipher)
        if release_own_leases:
            await store.deliveries.release()
        yield store
    finally:
        await db.close()
