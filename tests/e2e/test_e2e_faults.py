"""The fault matrix on ``outboxd run`` (a real process) against the simulator: each fault for a few seconds of
traffic of two shops, then the books are checked. Zero lost (each event delivered, or failed/waiting for the
stated reason), zero duplicate piece_numbers, trial balance to the cent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
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
)

pytestmark = pytest.mark.timeout(90)


@dataclass(frozen=True)
class Case:
    faults: dict[str, Any]
    proof: Callable[[World, dict[str, float]], bool]
    """That the fault really hit (a retry, a dedup lookup, a 429, a token refresh...)."""
    world: dict[str, Any] = field(default_factory=dict)
    oauth: tuple[str, ...] = ()
    lift_after: float | None = None
    """Seconds of traffic under the fault before it is lifted; None: it stays on until everything is delivered."""
    storm: bool = False
    """Another client of the same tokens eats the rate limit (the daemon's own pacing cannot foresee it), until
    the fault is lifted: a client that took the whole budget for ever would leave nothing to deliver with."""


FEED = 0.8
"""Seconds between two days of traffic fed to the outbox."""


def _rotations(world: World) -> int:
    return world.daemon.log_path.read_text().count('"token.rotated"')


CASES = {
    "5xx_bursts": Case(
        {"fail_rate": 0.3},
        lambda w, m: total(m, "outboxd_retries_total", error_class="retryable") > 0,
        lift_after=1.0,
    ),
    "timeouts": Case(
        {"latency_ms": 800},
        lambda w, m: total(m, "outboxd_retries_total", error_class="unknown_outcome") > 0,
        world={"request_timeout": 0.5},
        lift_after=1.0,
    ),
    "drop_after_commit": Case(
        {"drop_after_commit": 0.2},
        lambda w, m: total(m, "outboxd_dedup_found_total") > 0,
        lift_after=1.0,
    ),
    "429_storm": Case(
        {},
        lambda w, m: total(m, "outboxd_http_responses_total", status="429") > 0,
        world={"rate_limit": (10, 1.0)},
        storm=True,
        lift_after=1.0,
    ),
    "token_expiry": Case(
        {"access_token_ttl": 0.7},
        lambda w, m: _rotations(w) >= 2,
        oauth=("s2",),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_transient_fault_loses_nothing_and_books_each_piece_once(make_world: WorldFactory, name: str) -> None:
    case = CASES[name]
    rate_limit = case.world.get("rate_limit")
    layout = {k: v for k, v in case.world.items() if k != "rate_limit"}
    world = await make_world(rate_limit=rate_limit, oauth=case.oauth, **layout)
    if "access_token_ttl" in case.faults:
        world.sandbox.faults.update(access_token_ttl=case.faults["access_token_ttl"])
    await world.daemon.start_ready()
    for shop in case.oauth:
        await world.connect_oauth(shop)
    # warm up without faults: the reference snapshot sets up journals and accounts, one day flows
    rows = {shop: world.history(shop, days=4, seed=n) for n, shop in enumerate(SHOPS)}
    days = {shop: by_day(shop_rows) for shop, shop_rows in rows.items()}
    for shop_days in days.values():
        world.layout.insert(shop_days[0])
    await settle(world.state, {shop: len(d[0]) for shop, d in days.items()}, 30, world.daemon)

    world.sandbox.faults.update(**case.faults)
    stop = asyncio.Event()
    storm = asyncio.create_task(world.storm(stop)) if case.storm else None
    for n in range(1, 4):  # a day of traffic every FEED seconds, under the fault
        for shop_days in days.values():
            world.layout.insert(shop_days[n])
        await sleep_briefly(FEED)
    if case.lift_after is not None:
        await sleep_briefly(case.lift_after)
        world.sandbox.faults.update(fail_rate=0.0, latency_ms=0, drop_after_commit=0.0)
        stop.set()
    await settle(world.state, {shop: len(r) for shop, r in rows.items()}, 60, world.daemon)
    if storm is not None:
        await storm
    world.sandbox.faults.update(fail_rate=0.0, latency_ms=0, drop_after_commit=0.0)
    metrics = await scrape(world.layout.metrics_url)
    for shop, shop_rows in rows.items():
        assert world.state.failed(shop) == []
        assert world.state.counts(shop)["delivered"] == len(shop_rows)
        assert_exact(world.sandbox, world.companies[shop], world.expected(shop, shop_rows))
    hits = {k: v for k, v in metrics.items() if "retries" in k or "dedup" in k or "rate_limit" in k}
    assert case.proof(world, metrics), f"the fault never hit: {hits} throttled={world.sandbox.throttled_count}"
    print(f"{name}: events={sum(map(len, rows.values()))} retries={total(metrics, 'outboxd_retries_total'):g} "
          f"dedup_found={total(metrics, 'outboxd_dedup_found_total'):g} "
          f"throttled={sum(world.sandbox.throttled_count.values())} rotations={_rotations(world)}")  # fmt: skip
