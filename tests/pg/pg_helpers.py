"""Helpers of the PostgreSQL tests and of bench/bench_replicas.py: Kash.Click's INSERT, a bridge's config moved
to PostgreSQL, the deliveries' states, the lane owners, a database that refuses connections (unique basename on
purpose)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import asyncpg

INSERT = (
    "INSERT INTO outbox (event_id, shop_id, event_type, aggregate_id, occurred_at, payload) "
    "VALUES ($1, $2, $3, $4, $5::timestamptz, $6::jsonb) ON CONFLICT (event_id) DO NOTHING RETURNING id"
)
_INSERT_TEXT = (
    "INSERT INTO outbox (event_id, shop_id, event_type, aggregate_id, occurred_at, payload) "
    "VALUES ($1, $2, $3, $4, $5::text::timestamptz, $6::text::jsonb) ON CONFLICT (event_id) DO NOTHING"
)


def event(n: int, *, shop: str = "shop-1", aggregate: str | None = None) -> tuple[Any, ...]:
    """The parameters of one order.recorded event numbered ``n``."""
    payload = json.dumps({"order_id": aggregate or f"order:{n}", "business_date": "2026-03-14"})
    moment = dt.datetime(2026, 3, 14, 18, 2, 11, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    return (f"ev-{n}", shop, "order.recorded", aggregate or f"order:{n}", moment, payload)


async def insert_rows(url: str, rows: Iterable[Mapping[str, Any]]) -> None:
    """Kash.Click's side: rows as the simulator makes them (payload a dict or JSON text), in one transaction."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.executemany(_INSERT_TEXT, [
                (r["event_id"], r["shop_id"], r["event_type"], r["aggregate_id"], r["occurred_at"],
                 r["payload"] if isinstance(r["payload"], str) else json.dumps(r["payload"]))
                for r in rows
            ])  # fmt: skip
    finally:
        await conn.close()


def to_postgres(config_path: Path, url: str) -> None:
    """Point a bridge's config (tests/bridge_setup.py, tests/e2e) at one PostgreSQL database: outbox and state."""
    text = config_path.read_text()
    text, outbox = re.subn(r"^outbox_database = .*$", f'outbox_database = "{url}"', text, flags=re.MULTILINE)
    text, state = re.subn(r"^(state_database = .*)$", rf'\1\nstate_database_url = "{url}"', text, flags=re.M)
    assert outbox == state == 1, "not a bridge config"
    config_path.write_text(text)


async def delivery_states(conn: asyncpg.Connection) -> dict[str, int]:
    """Deliveries per state, every shop together (the trigger-kept counters: a few rows whatever the backlog)."""
    try:
        rows = await conn.fetch("SELECT state, sum(n) FROM queue_counts GROUP BY state")
    except asyncpg.UndefinedTableError:
        return {}
    return {str(r[0]): int(r[1]) for r in rows}


async def failures(conn: asyncpg.Connection, limit: int = 5) -> list[tuple[str, str, str]]:
    """(shop, error class, message) of a few failed deliveries, for an assertion's message."""
    rows = await conn.fetch(
        "SELECT shop_id, last_error_class, last_error FROM deliveries WHERE state = 'failed' ORDER BY id LIMIT $1",
        limit,
    )
    return [(str(a), str(b), str(c)) for a, b, c in rows]


async def lane_owners(conn: asyncpg.Connection) -> dict[str, int]:
    """Shops per replica holding a live lane lease."""
    rows = await conn.fetch("SELECT owner, count(*) FROM lane_leases WHERE until > now() GROUP BY owner")
    return {str(r[0]): int(r[1]) for r in rows}


async def refuse_connections(url: str, refuse: bool, *, application: str | None = None) -> None:
    """The database stops (or starts again) accepting connections; the ones open (of ``application`` only, if
    given) are cut."""
    server, name = url.rsplit("/", 1)
    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"false" if refuse else "true"}')
        if refuse:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 "
                "AND pid <> pg_backend_pid() AND ($2::text IS NULL OR application_name = $2)",
                name,
                application,
            )
    finally:
        await admin.close()
