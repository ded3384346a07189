"""Migrations: from empty, re-run, and the refusal of a database written by a newer outboxd."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from store_helpers import sqlite_only

from outboxd.exceptions import StoreError
from outboxd.store import known_migrations, open_store
from outboxd.store.migrate import Migration, apply_migrations
from outboxd.store.sqlite import SqliteDatabase

pytestmark = sqlite_only  # SQLite's own migrations, read with sqlite3 (PostgreSQL: tests/pg/test_pg_migrations.py)


def _versions(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


async def test_from_empty_creates_every_table_and_records_versions(state_path: Path) -> None:
    async with open_store(state_path, owner="t"):
        pass
    with sqlite3.connect(state_path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert {
        "deliveries",
        "attempts",
        "sent_entries",
        "journals",
        "ledger_accounts",
        "customers",
        "order_accounts",
        "shops",
        "connections",
        "oauth_pending",
        "backfills",
        "audit",
        "ingest_cursor",
    } <= tables
    assert mode == "wal"
    assert _versions(state_path) == [m.version for m in known_migrations()]


async def test_rerun_applies_nothing(state_path: Path) -> None:
    async with open_store(state_path, owner="t"):
        pass
    db = await SqliteDatabase.open(str(state_path))
    try:
        assert await apply_migrations(db.writer) == []
    finally:
        await db.close()
    async with open_store(state_path, owner="t"):
        pass
    assert _versions(state_path) == [m.version for m in known_migrations()]


async def test_newer_database_is_refused(state_path: Path) -> None:
    async with open_store(state_path, owner="t"):
        pass
    newest = known_migrations()[-1].version
    with sqlite3.connect(state_path) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (?, 'from_the_future')", (newest + 1,))
    with pytest.raises(StoreError, match="newer outboxd"):
        async with open_store(state_path, owner="t"):
            pass


async def test_failed_migration_rolls_back_and_is_not_recorded(state_path: Path) -> None:
    good = known_migrations()
    broken = [*good, Migration(len(good) + 1, "broken", "CREATE TABLE half_done (x);\nSELECT * FROM nowhere;")]
    db = await SqliteDatabase.open(str(state_path))
    try:
        with pytest.raises(StoreError, match="broken"):
            await apply_migrations(db.writer, broken)
    finally:
        await db.close()
    assert _versions(state_path) == [m.version for m in good]
    with sqlite3.connect(state_path) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0
