"""Fixtures of the store tests: a controllable clock, a state database, an outbox file with a producer.

The state database is parametrized by backend: every test that uses it runs on SQLite and on PostgreSQL (a scratch
database per test). Tests that read the SQLite file itself say ``@sqlite_only``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from store_helpers import FakeClock, Producer, state_database

from outboxd.outbox import OutboxSource, open_outbox
from outboxd.store import Store, open_store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def state_path(backend: str, tmp_path: Path) -> AsyncIterator[Path | str]:
    async with state_database(backend, tmp_path) as path:
        yield path


@pytest.fixture
async def store(state_path: Path | str, clock: FakeClock) -> AsyncIterator[Store]:
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
