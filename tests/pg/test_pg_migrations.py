"""PostgreSQL migrations: from empty, replicas starting together, and a database written by a newer outboxd."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from outboxd.exceptions import StoreError
from outboxd.store import known_migrations
from outboxd.store.pg.migrate import apply_pg_migrations


async def test_replicas_starting_together_apply_each_migration_once(pg_url: str) -> None:
    conns = [await asyncpg.connect(pg_url) for _ in range(3)]
    try:
        applied = await asyncio.gather(*(apply_pg_migrations(conn) for conn in conns))
        versions = [m.version for m in known_migrations("postgres")]
        assert sorted(v for done in applied for v in done) == versions  # one replica applied, the others found it
        rows = await conns[0].fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r[0] for r in rows] == versions
        tables = {r[0] for r in await conns[0].fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"deliveries", "attempts", "lane_leases", "replicas", "connections", "audit"} <= tables
        assert await apply_pg_migrations(conns[1]) == []
    finally:
        for conn in conns:
            await conn.close()


async def test_a_database_of_a_newer_outboxd_is_refused(pg_url: str) -> None:
    conn = await asyncpg.connect(pg_url)
    try:
        await apply_pg_migrations(conn)
        await conn.execute("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')")
        with pytest.raises(StoreError, match="newer outboxd"):
            await apply_pg_migrations(conn)
    finally:
        await conn.close()
