"""The backfill tests' fixture: a simulator with a closed and an open fiscal year, and a bridge on disk."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from backfill_world import World

from outboxd.outbox import ensure_outbox
from outboxd.pennylane_simulator import Sandbox, run_sandbox
from outboxd.secrets import ensure_key_file


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    sandbox = Sandbox(rate_limit=None)
    async with run_sandbox(sandbox) as handle:
        today = dt.date.today()
        years = [
            (str(today - dt.timedelta(days=800)), str(today - dt.timedelta(days=366)), "closed"),
            (str(today - dt.timedelta(days=365)), str(today + dt.timedelta(days=365)), "open"),
        ]
        company = sandbox.add_company("Boutique", fiscal_years=years).id
        ensure_key_file(tmp_path / "token.key")
        ensure_outbox(tmp_path / "outbox.sqlite3")
        yield World(tmp_path, sandbox, handle.api_url, company)
