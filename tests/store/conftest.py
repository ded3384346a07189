"""Fixtures of the store tests: a controllable clock, a state database, an outbox file with a producer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from store_helpers import FakeClock, Producer

from outboxd.producer import open_outbox
from outboxd.store import OutboxSource, Store, open_store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
async def store(state_path: Path, clock: FakeClock) -> AsyncIterator[Store]:
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
