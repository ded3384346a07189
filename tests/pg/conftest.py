"""Fixtures of the PostgreSQL tests: a scratch database per test, created and dropped here.

Every test in this folder is marked ``postgres`` and skipped, with the reason, when 127.0.0.1:5432 does not answer.
"""

from __future__ import annotations

import secrets
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from outboxd.store.pg import outbox_ddl

SERVER = "postgresql://postgres@127.0.0.1:5432"


def _server_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        return False
    return True


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    answers = _server_answers()
    for item in items:
        if "tests/pg/" not in item.nodeid:
            continue
        item.add_marker(pytest.mark.postgres)
        if not answers:
            item.add_marker(pytest.mark.skip(reason="PostgreSQL does not answer at 127.0.0.1:5432 (.ci/run starts it)"))


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh database ``outboxd_test_<random>``, dropped after the test (connections to it closed first)."""
    name = f"outboxd_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(f"{SERVER}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{SERVER}/{name}"
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def outbox_url(pg_url: str) -> str:
    """``pg_url`` with Kash.Click's outbox table and its trigger."""
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute(outbox_ddl())
    finally:
        await conn.close()
    return pg_url


# -- the store tests of tests/store, run again on PostgreSQL (test_pg_store_shared.py) ------------------------------
# Their helpers are imported by bare name, as pytest does for tests/store itself.
sys.path.insert(0, str(Path(__file__).parent.parent / "store"))
from store_helpers import FakeClock, Producer  # noqa: E402

from outboxd.producer import open_outbox  # noqa: E402
from outboxd.store import OutboxSource, Store, open_store  # noqa: E402


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state_path(pg_url: str) -> str:
    """The state database of the shared tests: a URL (they pass it to open_store as they would a file)."""
    return pg_url


@pytest.fixture
async def store(state_path: str, clock: FakeClock) -> AsyncIterator[Store]:
    async with open_store(state_path, owner="test-owner", clock=clock) as opened:
        yield opened


@pytest.fixture
def outbox_path(tmp_path: Path) -> Path:
    path = tmp_path / "outbox.db"
    open_outbox(path).close()
    return path


@pytest.fixture
def producer(outbox_path: Path) -> Iterator[Producer]:
    conn = open_outbox(outbox_path)
    yield Producer(conn)
    conn.close()


@pytest.fixture
async def source(outbox_path: Path) -> AsyncIterator[OutboxSource]:
    async with OutboxSource(outbox_path) as opened:
        yield opened
