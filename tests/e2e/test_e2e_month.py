"""A simulated month of two shops with every case the books must handle (simulate_shop's variety: discounts whose
last cent ties between rates, one discounted line, gift cards sold then spent, chapters at two rates; split
payments, refunds, tickets on account paid later or left open) through ``outboxd run`` (a real process) against
the simulator, under 503s, connections cut after the commit, a 429 storm and a kill -9 mid-month.

Then: every event delivered (no ticket refused that the contract accepts), each piece booked once, the trial balance
equal to the rules engine's and to an independent computation from the printed figures, every paid ticket's
customer lines lettered with its payments', the unpaid ones open, every lettering group balanced.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from books import folded
from e2e_harness import (
    SHOPS,
    World,
    WorldFactory,
    assert_exact,
    by_day,
    scrape,
    settle,
    sleep_briefly,
    total,
    wait_until,
)
from e2e_lettering import lettering_gaps
from independent_books import trial_balance_from_events
from simulated_cases import CASES, simulated_cases

pytestmark = pytest.mark.timeout(120)

FEED = 0.15
"""Seconds between two business days fed to the outbox."""
ORDERS_PER_DAY = 8


async def _feed(world: World, days: dict[str, list[list[dict[str, object]]]], span: range) -> None:
    for n in span:
        for shop_days in days.values():
            world.layout.insert(shop_days[n])
        await sleep_briefly(FEED)


async def test_a_month_of_two_shops_under_faults_and_a_kill_9_books_and_letters_every_case(
    make_world: WorldFactory,
) -> None:
    world = await make_world()
    rows = {shop: world.history(shop, days=30, orders_per_day=ORDERS_PER_DAY, seed=n, on_account=0.25, variety=True)
            for n, shop in enumerate(SHOPS)}  # fmt: skip
    cases = sum(map(simulated_cases, rows.values()), Counter[str]())
    assert {case: cases[case] for case in CASES if cases[case] < 4} == {}, "the month lost a case"
    days = {shop: by_day(shop_rows) for shop, shop_rows in rows.items()}
    assert {len(d) for d in days.values()} == {30}
    faults = world.sandbox.faults
    await world.daemon.start_ready()

    faults.update(fail_rate=0.25)  # 503s
    await _feed(world, days, range(8))
    faults.update(fail_rate=0.0)
    limiter, stop = world.sandbox.limiter, asyncio.Event()
    limiter.limit, limiter.window, limiter.enabled = 20, 1.0, True
    storm = asyncio.create_task(world.storm(stop))  # another client eats the rate limit: 429s
    await _feed(world, days, range(8, 15))

    async def throttled() -> bool:
        return total(await scrape(world.layout.metrics_url), "outboxd_http_responses_total", status="429") > 0

    await wait_until(throttled, 20, "a 429 answered to the daemon")
    stop.set()
    await storm
    limiter.enabled = False  # the daemon keeps the stricter limit it read until the kill
    faults.update(drop_after_commit=0.2)  # the entry is in Pennylane, the answer lost
    await _feed(world, days, range(15, 22))
    before_kill = await scrape(world.layout.metrics_url)
    world.daemon.kill9()  # mid-month, deliveries and letterings in flight
    await world.daemon.start_ready()
    faults.update(fail_rate=0.1, drop_after_commit=0.1)
    await _feed(world, days, range(22, 30))
    faults.update(fail_rate=0.0, drop_after_commit=0.0)
    await settle(world.state, {shop: len(r) for shop, r in rows.items()}, 60, world.daemon)

    metrics = (before_kill, await scrape(world.layout.metrics_url))

    def seen(name: str, **labels: str) -> float:
        """Over both processes (the counters restart with the process)."""
        return sum(total(m, name, **labels) for m in metrics)

    assert seen("outboxd_retries_total", error_class="retryable") > 0  # the 503s hit
    assert seen("outboxd_http_responses_total", status="429") > 0
    assert seen("outboxd_dedup_found_total") > 0  # a POST committed, its answer lost, found instead of posted again
    for shop, shop_rows in rows.items():
        assert world.state.failed(shop) == []
        assert world.state.counts(shop)["delivered"] == len(shop_rows)
        assert_exact(world.sandbox, world.companies[shop], world.expected(shop, shop_rows))
        got, want = folded(world.sandbox.trial_balance(world.companies[shop])), trial_balance_from_events(shop_rows)
        diff = {n: (got.get(n), want.get(n)) for n in {*got, *want} if got.get(n) != want.get(n)}
        assert not diff, f"trial balance differs (account: simulator, independent computation): {diff}"

    async def lettered() -> bool:
        return not any(lettering_gaps(world.sandbox, world.companies[s], r) for s, r in rows.items())

    try:
        await wait_until(lettered, 30)
    except AssertionError:
        gaps = {s: lettering_gaps(world.sandbox, world.companies[s], r)[:5] for s, r in rows.items()}
        raise AssertionError(f"lettering differs: {gaps}") from None
    print(f"events={sum(map(len, rows.values()))} cases={dict(cases)} retries={seen('outboxd_retries_total'):g} "
          f"dedup_found={seen('outboxd_dedup_found_total'):g} "
          f"429s={seen('outboxd_http_responses_total', status='429'):g}")
    assert await world.daemon.terminate(10) == 0
