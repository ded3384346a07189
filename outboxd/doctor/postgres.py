"""Checks of the PostgreSQL databases (docs/postgresql.md): the state shared by the replicas, Kash.Click's outbox.

Read only, like the SQLite checks: reachable, a primary (not a read-only standby), the role may write our tables;
the migrations compared with the code's, never applied; the outbox with the contract's columns, a BIGSERIAL id,
the NOTIFY trigger and SELECT granted on the table and its sequence. Each check opens its own short connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from outboxd.doctor.databases import contract_columns, migrations_result, outbox_result
from outboxd.doctor.result import CheckResult, Status
from outboxd.doctor.tokens import StoredToken, check_token_rows, tokens_from_rows
from outboxd.outbox import NOTIFY_CHANNEL
from outboxd.store import known_migrations
from outboxd.store.pg.db import pg_errors

__all__ = ["check_pg_migrations", "check_pg_outbox", "check_pg_state", "check_pg_tokens", "read_pg_tokens"]

_TIMEOUT = 5.0
_ERRORS = (*pg_errors, TimeoutError)
_TRIGGER = (
    "SELECT count(*) FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
    "WHERE t.tgrelid = 'outbox'::regclass AND NOT t.tgisinternal AND p.prosrc LIKE '%' || $1 || '%'"
)


def shown(url: str) -> str:
    """The URL without its password, for a report that may be pasted anywhere."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


@asynccontextmanager
async def _connect(url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(url, timeout=_TIMEOUT)
    try:
        yield conn
    finally:
        await conn.close()


def _unreachable(check: str, title: str, url: str, exc: BaseException) -> CheckResult:
    fix = "start PostgreSQL or fix the URL; the role needs LOGIN and a pg_hba.conf line for this host"
    return CheckResult.fail(check, title, f"{shown(url)}: {type(exc).__name__}: {exc}", fix)


async def check_pg_state(url: str) -> CheckResult:
    """Reachable, a primary, and the role may create our tables (first start) or write them (after)."""
    check, title = "state_database", "state database"
    try:
        async with _connect(url) as conn:
            standby = bool(await conn.fetchval("SELECT pg_is_in_recovery()"))
            created = await conn.fetchval("SELECT to_regclass('deliveries') IS NOT NULL")
            may_write = await conn.fetchval(
                "SELECT has_table_privilege('deliveries', 'INSERT, UPDATE, DELETE')"
                if created else "SELECT has_schema_privilege(current_schema(), 'CREATE')"
            )  # fmt: skip
            role = await conn.fetchval("SELECT current_user")
    except _ERRORS as exc:
        return _unreachable(check, title, url, exc)
    if standby:
        fix = "point daemon.state_database_url at the primary: every replica writes the state"
        return CheckResult.fail(check, title, f"{shown(url)} is a read-only standby", fix)
    if not may_write:
        what = "write the deliveries table" if created else "create tables in its schema"
        fix = f"GRANT the outboxd role ownership of its schema (ALTER SCHEMA ... OWNER TO {role})"
        return CheckResult.fail(check, title, f"{shown(url)}: role {role} may not {what}", fix)
    if not created:
        fix = "nothing to do: the first `outboxd run` creates the tables"
        return CheckResult.warn(check, title, f"{shown(url)}: reachable, no tables yet", fix)
    return CheckResult.ok(check, title, f"{shown(url)}: reachable, a primary, role {role} may write")


async def check_pg_migrations(url: str) -> CheckResult:
    """The schema version against the code's PostgreSQL migrations (compared, never applied)."""
    check, title = "migrations", "migrations"
    try:
        async with _connect(url) as conn:
            exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
            rows = await conn.fetch("SELECT version FROM schema_migrations") if exists else []
    except _ERRORS as exc:
        return _unreachable(check, title, url, exc)
    return migrations_result({int(row[0]) for row in rows}, known_migrations("postgres"))


async def check_pg_outbox(url: str) -> CheckResult:
    """The contract's outbox table, its BIGSERIAL id, the NOTIFY trigger, and SELECT on the table and sequence."""
    check, title = "outbox", "outbox database"
    try:
        async with _connect(url) as conn:
            if not await conn.fetchval("SELECT to_regclass('outbox') IS NOT NULL"):
                return outbox_result(shown(url), set(), True, None)
            columns = {str(r[0]) for r in await conn.fetch(
                "SELECT attname FROM pg_attribute WHERE attrelid = 'outbox'::regclass AND attnum > 0 "
                "AND NOT attisdropped"
            )}  # fmt: skip
            sequence = await conn.fetchval("SELECT pg_get_serial_sequence('outbox', 'id')")
            triggers = int(await conn.fetchval(_TRIGGER, NOTIFY_CHANNEL))
            grants = await conn.fetchrow(
                "SELECT has_table_privilege('outbox', 'SELECT'), "
                "$1::text IS NULL OR has_sequence_privilege($1::text, 'SELECT'), current_user",
                sequence,
            )
            last = await conn.fetchval("SELECT max(id) FROM outbox") if grants[0] else None
    except _ERRORS as exc:
        return _unreachable(check, title, url, exc)
    found = outbox_result(shown(url), columns, True, last)
    if found.status is not Status.OK or not contract_columns() <= columns:
        return found
    ddl = "outboxd/outbox/outbox.sql (docs/postgresql.md)"
    if sequence is None:
        return CheckResult.fail(check, title, f"{shown(url)}: outbox.id is not a BIGSERIAL column", f"see {ddl}")
    if not (grants[0] and grants[1]):
        fix = f"GRANT SELECT ON outbox TO {grants[2]}; GRANT SELECT ON SEQUENCE {sequence} TO {grants[2]}"
        return CheckResult.fail(check, title, f"{shown(url)}: role {grants[2]} may not read the outbox", fix)
    if not triggers:
        summary = f"{shown(url)}: no trigger notifies '{NOTIFY_CHANNEL}': new rows wait for the 5 s safety poll"
        return CheckResult.warn(check, title, summary, f"have Kash.Click create the trigger of {ddl}")
    return CheckResult.ok(check, title, f"{shown(url)}: outbox readable, NOTIFY trigger present, last id {last or 0}")


async def _connection_rows(url: str) -> list[Any]:
    async with _connect(url) as conn:
        if not await conn.fetchval("SELECT to_regclass('connections') IS NOT NULL"):
            return []
        return list(await conn.fetch("SELECT * FROM connections ORDER BY shop_id"))


async def read_pg_tokens(url: str, token_key: Path) -> dict[str, StoredToken]:
    """Every stored connection by shop id (empty when the database cannot be read: its own check says why)."""
    try:
        return tokens_from_rows(await _connection_rows(url), token_key)
    except _ERRORS:
        return {}


async def check_pg_tokens(url: str, token_key: Path) -> CheckResult:
    try:
        rows = await _connection_rows(url)
    except _ERRORS as exc:
        return CheckResult.skip("stored_tokens", "stored tokens", f"cannot read the state database ({exc})")
    return check_token_rows(rows, token_key)
