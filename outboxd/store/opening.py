"""Opening the state database: a SQLite file or a ``postgresql://`` URL, each backend's ``Store``.

Here, above both backends, so that neither imports the other: ``pg.store`` builds on ``store.store``'s ``Store``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from outboxd.store._db import Clock, utc_now
from outboxd.store.deliveries import Deliveries
from outboxd.store.migrate import apply_migrations
from outboxd.store.models import Cipher
from outboxd.store.pg.store import open_pg_store
from outboxd.store.sqlite import SqliteDatabase
from outboxd.store.store import DEFAULT_LEASE, SqliteStore, Store

__all__ = ["open_store"]


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
    """Open the state database (a file, created if missing, or a ``postgresql://`` URL), bring its schema up to
    date, and close it on exit.

    ``owner`` names this process in leases; it must be unique among processes running at the same time and
    stable across restarts of one daemon (for example the host name), so that ``release_own_leases`` gives back
    at once what a killed previous run of this daemon held, instead of waiting ``lease`` for them to expire.
    ``cipher`` encrypts tokens at rest; without it the connection methods refuse to work.
    """
    if str(path).startswith(("postgresql://", "postgres://")):  # the scale-out backend, docs/postgresql.md
        async with open_pg_store(
            str(path), owner=owner, lease=lease, clock=clock, cipher=cipher, release_own_leases=release_own_leases
        ) as pg_store:
            yield pg_store
        return
    db = await SqliteDatabase.open(str(path))
    try:
        await apply_migrations(db.writer)
        store = SqliteStore(db, Deliveries(db, clock, owner, lease), clock=clock, cipher=cipher)
        if release_own_leases:
            await store.deliveries.release()
        yield store
    finally:
        await db.close()
