"""PostgreSQL migrations: ``migrations/postgres/NNNN_name.sql``, the same rules as SQLite's (see migrations.py).

Replicas may start together: the whole pass runs under a session advisory lock, so one applies and the others
then find the schema current.
"""

from __future__ import annotations

import asyncpg

from outboxd.exceptions import StoreError
from outboxd.store.migrate import Migration, known_migrations, missing
from outboxd.store.pg.db import pg_errors

__all__ = ["MIGRATION_LOCK", "apply_pg_migrations"]

MIGRATION_LOCK = 7300
_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""


async def apply_pg_migrations(conn: asyncpg.Connection, migrations: list[Migration] | None = None) -> list[int]:
    """Apply what is missing; return the versions applied now (empty when the schema is current)."""
    todo = known_migrations("postgres") if migrations is None else migrations
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            await conn.execute(_TABLE)
            applied = {int(r[0]) for r in await conn.fetch("SELECT version FROM schema_migrations")}
            done = []
            for migration in missing(todo, applied):
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    record = "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)"
                    await conn.execute(record, migration.version, migration.name)
                done.append(migration.version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    except pg_errors as exc:
        raise StoreError(f"migration failed: {exc}") from exc
    return done
