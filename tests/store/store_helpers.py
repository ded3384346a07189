"""Helpers of the store tests (imported by conftest.py, the tests and tests/pg; a unique basename on purpose)."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import socket
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from outboxd.outbox import INSERT_SQL

START = dt.datetime(2026, 3, 14, 17, 0, tzinfo=dt.UTC)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


class Producer:
    """Kash.Click's side: plain sqlite3 and INSERT OR IGNORE, one transaction per call."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.count = 0

    def row(self, aggregate: str, *, shop: str = "shop-1", event_type: str = "order.recorded") -> tuple[str, ...]:
        self.count += 1
        payload = json.dumps({"order_id": aggregate, "business_date": "2026-03-14"})
        return (f"ev-{self.count}", shop, event_type, aggregate, "2026-03-14T18:02:11+01:00", payload)

    def insert(self, *aggregates: str, shop: str = "shop-1") -> None:
        with self.conn:
            self.conn.executemany(INSERT_SQL, [self.row(a, shop=shop) for a in aggregates])


PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
"""The PostgreSQL server of the tests (installed on these machines, trust auth; .ci/run starts it)."""


REQUIRE_POSTGRES = "OUTBOXD_REQUIRE_POSTGRES"
"""Set to 1 where the server is started for the tests (.ci/run): there a test that cannot reach it fails."""


def pg_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        return False
    return True


def require_postgres() -> None:
    """Skip the calling test, with the reason, when the server does not answer; fail it where it must answer."""
    if pg_answers():
        return
    reason = "PostgreSQL does not answer at 127.0.0.1:5432 (.ci/run starts it)"
    if os.environ.get(REQUIRE_POSTGRES) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_POSTGRES}=1 says it must", pytrace=False)
    pytest.skip(reason)


@asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    """A fresh database ``outboxd_test_<random>`` for one test, dropped after it (its connections closed first)."""
    name = f"outboxd_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{PG_SERVER}/{name}"
        finally:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def state_database(backend: str, tmp_path: Path) -> AsyncIterator[Path | str]:
    """A SQLite file in ``tmp_path``, or the URL of a scratch PostgreSQL database: what ``open_store`` takes."""
    if backend == "sqlite":
        yield tmp_path / "state.db"
        return
    require_postgres()
    async with scratch_database() as url:
        yield url


sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])
"""For a test that reads the SQLite file itself: the state database on SQLite only."""
