"""Retry policy on the real daemon: an outage retries with backoff, then waits for an operator; recovery flows."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

import pytest
from bridge_setup import Bridge, wait_until

from outboxd.daemon import Daemon
from outboxd.delivery import Backoff
from outboxd.pennylane_simulator import Sandbox, run_sandbox
from outboxd.shop_simulator import simulate_shop

pytestmark = pytest.mark.timeout(60)


def test_backoff_doubles_up_to_its_cap_with_jitter_on_the_upper_half() -> None:
    backoff = Backoff(base=1.0, cap=8.0, max_attempts=10)
    rng = random.Random(7)
    for attempts, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (10, 8.0), (60, 8.0)]:
        delays = [backoff.delay(attempts, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jitter: no thundering herd after an outage


async def test_an_outage_gives_up_after_max_attempts_then_a_retry_delivers(tmp_path) -> None:
    sandbox = Sandbox(rate_limit=None)
    async with run_sandbox(sandbox) as handle:
        company = sandbox.add_company("Boutique").id
        bridge = Bridge(
            tmp_path / "b", handle.api_url, {"s1": sandbox.issue_api_token(company)}, daemon_extra="max_attempts = 3"
        ).write()
        rows = list(simulate_shop("s1", days=1, orders_per_day=3, registers=1, seed=3, start=dt.date.today()))
        bridge.insert(rows)
        sandbox.faults.update(fail_rate=1.0)  # every API call answers 503
        daemon = Daemon(bridge.config())
        runner = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.ready.wait(), 10)

            async def failed_heads() -> bool:
                return bool(await daemon.store.queue.failed())

            await wait_until(failed_heads, 30)
            failed = await daemon.store.queue.failed()
            assert all(d.attempts == 3 for d in failed)
            assert all(d.last_error and d.last_error.startswith("gave up after 3 attempts") for d in failed)
            assert not sandbox.entries(company)

            sandbox.faults.update(fail_rate=0.0)
            await daemon.store.queue.retry([d.id for d in failed], "tester")
            daemon.lanes.wake()

            async def all_delivered() -> bool:
                stats = await daemon.store.queue.stats("s1")
                return bool(stats) and stats[0].delivered == len(rows)

            await wait_until(all_delivered, 30)
        finally:
            daemon.stop()
            await asyncio.wait_for(runner, 20)
