"""A simulated month of two shops through ``outboxd run`` (a real process): exactly the rules engine's books."""

from __future__ import annotations

import pytest
from e2e_harness import SHOPS, WorldFactory, assert_exact, settle

pytestmark = pytest.mark.timeout(120)


async def test_a_month_of_two_shops_through_the_real_process(make_world: WorldFactory) -> None:
    world = await make_world()
    rows = {shop: world.history(shop, days=30, orders_per_day=12, seed=n) for n, shop in enumerate(SHOPS)}
    for shop_rows in rows.values():
        world.layout.insert(shop_rows)
    await world.daemon.start_ready()
    await settle(world.state, {shop: len(r) for shop, r in rows.items()}, 90, world.daemon)
    for shop, shop_rows in rows.items():
        assert world.state.failed(shop) == []
        assert world.state.counts(shop)["delivered"] == len(shop_rows)
        assert_exact(world.sandbox, world.companies[shop], world.expected(shop, shop_rows))
    assert await world.daemon.terminate(10) == 0
