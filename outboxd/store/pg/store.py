"""The Store facade on PostgreSQL: the shared groups over a pooled ``PgDatabase``, PostgreSQL deliveries, grants held
among replicas around a refresh, and lane ownership among replicas.

Chosen by ``open_store`` when the state database is a ``postgresql://`` URL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from outboxd.store._db import Clock
from outboxd.store.lanes import LaneOwnership
from outboxd.store.models import Cipher
from outboxd.store.pg.connections import PgConnections
from outboxd.store.pg.db import PgDatabase
from outboxd.store.pg.deliveries import PgDeliveries
from outboxd.store.pg.lanes import PgLaneOwnership
from outboxd.store.pg.migrate import apply_pg_migrations
from outboxd.store.store import Store

__all__ = ["PgStore", "open_pg_store"]


class PgStore(Store):
    """The state database on PostgreSQL, shared by replicas; the same groups and methods as the SQLite store."""

    def __init__(self, db: PgDatabase, *, owner: str, lease: dt.timedelta, clock: Clock, cipher: Cipher | None) -> None:
        super().__init__(db, PgDeliveries(db, clock, owner, lease), clock=clock, cipher=cipher)
        self.pg = db
        self.connections = PgConnections(db, clock, cipher)
        """Pennylane connections, a grant held among replicas while one refreshes it."""

    async def take_back_at_start(self) -> int:
        """Nothing: a lease found at start may be another live replica's; expired ones come back at each claim."""
        return 0

    def lane_ownership(self, *, handover: dt.timedelta, busy: Callable[[str], bool]) -> LaneOwnership:
        """This replica's share of the lanes, leased in the database (``pg/lanes.py``)."""
        return PgLaneOwnership(self.pg, self.owner, self.lease, handover=handover, busy=busy)


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
