"""A simulated month of two shops through ``outboxd run`` (a real process): exactly the rules engine's books, and
every paid ticket lettered with its payments, the unpaid ones open."""

from __future__ import annotations

import pytest
from e2e_harness import SHOPS, WorldFactory, assert_exact, settle, wait_until
from e2e_lettering import lettering_gaps

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

    async def lettered() -> bool:
        return not any(lettering_gaps(world.sandbox, world.companies[s], r) for s, r in rows.items())

    await wait_until(lettered, 30)
    assert await world.daemon.terminate(10) == 0
