"""Daily mode's customers: a day's unknown ones looked up 100 per request, so a new customer costs its create."""

from __future__ import annotations

import math

import pytest
from backfill_world import Running, World, settled
from bridge_setup import wait_until
from test_backfill_detailed import START, _only_reference_delivered, connect_with_history, history

pytestmark = pytest.mark.timeout(60)


async def test_a_day_with_n_new_customers_costs_n_creates_and_one_lookup_per_100(world: World) -> None:
    rows = history(days=1, orders=1400)
    await connect_with_history(world, rows)
    async with Running(world.config()) as daemon:
        await wait_until(lambda: _only_reference_delivered(daemon))
        before, known = world.requests(), set(world.sandbox.company(world.company).customer_refs)
        await daemon.backfills.start("s1", "ops", START.isoformat(), "daily")
        await wait_until(lambda: settled(daemon), 40)
        made = world.requests() - before
        new = len(set(world.sandbox.company(world.company).customer_refs) - known)
        assert new > 100  # two lookups
        checks = 1  # GET /fiscal_years: start checks the date
        assert made == checks + sum(world.pieces().values()) + new + math.ceil(new / 100)  # was 2 x new
        assert (await daemon.store.queue.stats("s1"))[0].failed == 0
