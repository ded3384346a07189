"""Numbered SQL migrations, applied at start, each in its own transaction, recorded in schema_migrations.

Files live in ``migrations/<backend>/NNNN_name.sql`` (only ``sqlite`` today; ``postgres`` later). A database
that already carries a version this code does not know was written by a newer outboxd: we refuse to touch it.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

import aiosqlite

from outboxd.exceptions import StoreError

__all__ = ["Migration", "apply_migrations", "known_migrations", "missing"]

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def known_migrations(backend: str = "sqlite") -> list[Migration]:
    """The migrations shipped with this code, in version order."""
    folder = resources.files("outboxd.store").joinpath("migrations", backend)
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise StoreError(f"migrations of {backend} are not numbered 1..n without gaps: {versions}")
    return found


def missing(todo: list[Migration], applied: set[int]) -> list[Migration]:
    """The migrations of ``todo`` not applied yet; StoreError when the database is newer than this code (both
    backends)."""
    newest = max((m.version for m in todo), default=0)
    if applied and max(applied) > newest:
        raise StoreError(
            f"the state database is at schema version {max(applied)} but this outboxd knows only up to "
            f"{newest}: it was written by a newer outboxd; upgrade outboxd (never downgrade a database)"
        )
    return [migration for migration in todo if migration.version not in applied]


async def apply_migrations(conn: aiosqlite.Connection, migrations: list[Migration] | None = None) -> list[int]:
    """Apply what is missing; return the versions applied now (empty when the schema is current)."""
    todo = known_migrations() if migrations is None else migrations
    try:
        await conn.execute(_TABLE)
        rows = await conn.execute_fetchall("SELECT version FROM schema_migrations ORDER BY version")
        done = []
        for migration in missing(todo, {int(row[0]) for row in rows}):
            await _apply_one(conn, migration)
            done.append(migration.version)
    except sqlite3.Error as exc:
        raise StoreError(f"migration failed: {exc}") from exc
    return done


async def _apply_one(conn: aiosqlite.Connection, migration: Migration) -> None:
    # executescript() commits any open transaction first, so BEGIN and COMMIT are part of the script itself;
    # the INSERT fails on a concurrent start that applied the same version, which rolls this copy back.
    # version and name come from our own file names, checked by _NAME: no quoting issue
    record = f"INSERT INTO schema_migrations (version, name) VALUES ({migration.version}, '{migration.name}');"  # noqa: S608
    script = f"BEGIN IMMEDIATE;\n{migration.sql}\n;{record}\nCOMMIT;"
    try:
        await conn.executescript(script)
    except sqlite3.Error as exc:
        if conn.in_transaction:
            await conn.rollback()
        raise StoreError(f"migration {migration.version:04d}_{migration.name} failed: {exc}") from exc
