"""How many entries per second the simulator books with the rate limit off (what throughput benchmarks need).

Client and server share this process, so the figure printed is a floor; with the server in its own process
(``outboxd sandbox --no-rate-limit``) it is higher. OUTBOXD_SOAK=1 posts more.
"""

from __future__ import annotations

import asyncio
import os
import time

import aiohttp
import pytest
from sandbox_helpers import entry_body

from outboxd.pennylane_simulator import Sandbox, run_sandbox

POSTS = 20_000 if os.environ.get("OUTBOXD_SOAK") else 2_000
CONCURRENCY = 32
FLOOR = 300  # per second, far under what a loaded CI box does: catches an accidental O(n) per request


@pytest.mark.slow
async def test_books_entries_fast_without_rate_limit() -> None:
    sandbox = Sandbox(rate_limit=None)
    company = sandbox.add_company("Bench")
    body = entry_body(company)
    headers = {"Authorization": f"Bearer {sandbox.issue_api_token(company.id)}"}
    async with run_sandbox(sandbox) as running, aiohttp.ClientSession(
            headers=headers, connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:
        url = running.api_url + "/ledger_entries"
        todo = iter(range(POSTS))

        async def worker() -> None:
            for _ in todo:
                async with session.post(url, json=body) as response:
                    assert response.status == 201
                    await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        rate = POSTS / (time.perf_counter() - started)
    print(f"\nsandbox: {POSTS} POST /ledger_entries at {rate:.0f}/s (client in the same process)")
    assert len(sandbox.entries(company.id)) == POSTS
    assert rate > FLOOR
