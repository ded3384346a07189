"""The daemon in-process against the simulator on loopback: a month of two shops books exactly what the events say."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from books import expected_books, folded
from bridge_setup import Bridge, wait_until

from outboxd.daemon import Daemon
from outboxd.pennylane_simulator import Sandbox, run_sandbox
from outboxd.shop_simulator import simulate_shop

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def world(tmp_path) -> AsyncIterator[tuple[Sandbox, str, Bridge, dict[str, int]]]:
    sandbox = Sandbox(rate_limit=None)
    async with run_sandbox(sandbox) as handle:
        companies = {shop: sandbox.add_company(f"Boutique {shop}").id for shop in ("s1", "s2")}
        tokens = {shop: sandbox.issue_api_token(cid) for shop, cid in companies.items()}
        bridge = Bridge(tmp_path / "bridge", handle.api_url, tokens).write()
        yield sandbox, handle.api_url, bridge, companies


async def test_a_month_of_two_shops_books_every_event_exactly_once(world) -> None:
    sandbox, _, bridge, companies = world
    start = dt.date(dt.date.today().year, 1, 5)
    rows = {
        shop: list(simulate_shop(shop, days=30, orders_per_day=12, registers=2, seed=seed, start=start))
        for seed, shop in enumerate(companies)
    }
    for shop_rows in rows.values():
        bridge.insert(shop_rows)

    daemon = Daemon(bridge.config())
    runner = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.ready.wait(), 10)

        async def all_settled() -> bool:
            stats = {s.shop_id: s for s in await daemon.store.queue.stats()}
            return all(
                shop in stats and stats[shop].delivered + stats[shop].failed >= len(shop_rows)
                for shop, shop_rows in rows.items()
            )

        await wait_until(all_settled, 60)
        stats = {s.shop_id: s for s in await daemon.store.queue.stats()}
        for shop, shop_rows in rows.items():
            assert stats[shop].failed == 0, await daemon.store.queue.failed()
            assert stats[shop].delivered == len(shop_rows)
            entries = sandbox.entries(companies[shop])
            pieces = Counter(e.piece_number for e in entries)
            assert pieces
            assert max(pieces.values()) == 1, "a piece_number was posted twice"
            want = expected_books(shop_rows, bridge.config().shop_mapping(shop), shop)
            assert folded(sandbox.trial_balance(companies[shop])) == want.balance
    finally:
        daemon.stop()
        await asyncio.wait_for(runner, 20)


async def test_a_stop_that_cuts_a_committed_claim_gives_its_deliveries_back(world) -> None:
    """The dispatcher can be cancelled after its claim committed and before the deliveries started: those leases
    are this process's too, and a stopped daemon holds none (a restart under another owner would wait them out)."""
    _, _, bridge, _ = world
    start = dt.date.today() - dt.timedelta(days=3)
    bridge.insert(list(simulate_shop("s1", days=2, orders_per_day=10, registers=1, seed=3, start=start)))
    daemon = Daemon(bridge.config())
    runner = asyncio.create_task(daemon.run())
    await asyncio.wait_for(daemon.ready.wait(), 10)
    claim_heads = daemon.store.deliveries.claim_heads
    cut: list[int] = []

    async def claim_then_stop(free: dict[str, int]) -> list[Any]:
        claimed = await claim_heads(free)
        if claimed and not cut:
            cut.extend(d.id for d in claimed)
            daemon.stop()
            await asyncio.sleep(10)  # the stop cancels the dispatcher here
        return claimed

    daemon.store.deliveries.claim_heads = claim_then_stop  # type: ignore[method-assign]
    daemon.lanes.wake("s1")
    await asyncio.wait_for(runner, 20)
    assert cut, "a claim was cut by the stop"
    with sqlite3.connect(bridge.state) as state:
        leases = dict(state.execute("SELECT id, state FROM deliveries WHERE state IN ('leased', 'pending')"))
    assert "leased" not in leases.values()
    assert all(leases.get(i) == "pending" for i in cut)
