"""The Store facade: one object the daemon opens at start, with a group of methods per thing it owns.

async with open_store("state.db", owner="host-1:4242", cipher=cipher) as store:
    await store.deliveries.ingest_from(source)
    for delivery in await store.deliveries.claim(50, shops={"shop-1"}):
        ...
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from outboxd.store._db import Clock, Database, utc_now
from outboxd.store.deliveries import Deliveries
from outboxd.store.migrations import apply_migrations
from outboxd.store.models import Cipher

__all__ = ["DEFAULT_LEASE", "Store", "open_store"]

DEFAULT_LEASE = dt.timedelta(seconds=120)


class Store:
    """The daemon's state database. Build it with :func:`open_store`."""

    def __init__(self, db: Database, *, owner: str, lease: dt.timedelta, clock: Clock, cipher: Cipher | None) -> None:
        self.db = db
        self.owner = owner
        self.clock = clock
        self.deliveries = Deliveries(db, clock, owner, lease)

    async def close(self) -> None:
        await self.db.close()


@asynccontextmanager
async def open_store(
    path: str | Path,
    *,
    owner: str,
    lease: dt.timedelta = DEFAULT_LEASE,
    clock: Clock = utc_now,
    cipher: Cipher | None = None,
    release_own_leases: bool = True,
) -> AsyncIterator[Store]:
    """Open the state database (created if missing), bring its schema up to date, and close it on exit.

    ``owner`` names this process in leases; it must be unique among processes running at the same time and
    stable across restarts of one daemon (for example the host name), so that ``release_own_leases`` gives back
    at once what a killed previous run of this daemon held, instead of waiting ``lease`` for them to expire.
    ``cipher`` encrypts tokens at rest; without it the connection methods refuse to work.
    """
    db = await Database.open(str(path))
    try:
        await apply_migrations(db.writer)
        store = Store(db, owner=owner, lease=lease, clock=clock, cipher=cipher)
        if release_own_leases:
            await store.deliveries.release()
        yield store
    finally:
        await db.close()
