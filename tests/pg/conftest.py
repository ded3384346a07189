"""Fixtures of the PostgreSQL tests: a scratch database per test, created and dropped here.

Every test in this folder is marked ``postgres``. One that needs the server (``pg_url``) is skipped, with the reason,
when 127.0.0.1:5432 does not answer, and fails instead where the server must be there (``OUTBOXD_REQUIRE_POSTGRES=1``,
set by .ci/run). The store tests of tests/store run on both backends themselves (their ``state_path`` is
parametrized).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

# The store tests' helpers (FakeClock, the scratch database), imported by bare name as pytest does for tests/store.
sys.path.insert(0, str(Path(__file__).parent.parent / "store"))
from store_helpers import FakeClock, require_postgres, scratch_database

from outboxd.outbox import outbox_ddl


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/pg/" in item.nodeid:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh database ``outboxd_test_<random>``, dropped after the test."""
    require_postgres()
    async with scratch_database() as url:
        yield url


@pytest.fixture
async def outbox_url(pg_url: str) -> str:
    """``pg_url`` with Kash.Click's outbox table and its trigger."""
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute(outbox_ddl())
    finally:
        await conn.close()
    return pg_url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state_path(pg_url: str) -> str:
    """The state database of these tests: a URL (passed to open_store as a file path would be)."""
    return pg_url
