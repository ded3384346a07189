"""Faults that do not heal by themselves, on ``outboxd run`` (a real process): a revoked grant, a dead company token,
a poison event. The shop or aggregate in trouble waits (nothing failed but the poison, nothing lost) while the rest
keeps flowing; once the operator fixes it, everything lands exactly once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from e2e_harness import SHOPS, World, WorldFactory, assert_exact, booked_pieces, scrape, secret_file, settle, wait_until

from outboxd.demo.tickets import poison_ticket

pytestmark = pytest.mark.timeout(90)


def _traffic(world: World, days: int = 3) -> dict[str, list[dict[str, Any]]]:
    return {shop: world.history(shop, days=days, seed=n) for n, shop in enumerate(SHOPS)}


async def _revoke_grant(world: World) -> None:
    world.sandbox.faults.update(revoke_grants=True)
    world.sandbox.expire_access_tokens()  # the next call gets a 401, the refresh gets invalid_grant


async def _reconnect_oauth(world: World) -> None:
    world.sandbox.faults.update(revoke_grants=False)
    await world.connect_oauth("s2")


async def _kill_token(world: World) -> None:
    token = world.layout.root.joinpath("s2.token").read_text()
    del world.sandbox.tokens.access[token]  # revoked in Pennylane's settings: every call is a 401


async def _new_token(world: World) -> None:
    directory = world.layout.root / "tokens"  # secrets.token_files_directory by default: beside the configuration
    directory.mkdir(mode=0o700, exist_ok=True)
    path = secret_file(directory / "s2-new.token", world.sandbox.issue_api_token(world.companies["s2"]))
    async with world.control() as client:
        await client.connect_token("s2", str(path))


BREAKS = {
    "revoked_grant": (("s2",), _revoke_grant, _reconnect_oauth),
    "company_token_revoked": ((), _kill_token, _new_token),
}


@pytest.mark.parametrize("name", list(BREAKS))
async def test_a_shop_needing_reconnection_waits_while_the_other_flows(make_world: WorldFactory, name: str) -> None:
    oauth, breaks, fixes = BREAKS[name]
    world = await make_world(oauth=oauth)
    await world.daemon.start_ready()
    for shop in oauth:
        await world.connect_oauth(shop)
    rows = _traffic(world)
    first = {shop: shop_rows[:20] for shop, shop_rows in rows.items()}
    for shop_rows in first.values():
        world.layout.insert(shop_rows)
    await settle(world.state, dict.fromkeys(SHOPS, 20), 30, world.daemon)

    await breaks(world)
    for shop_rows in rows.values():
        world.layout.insert(shop_rows)
    await settle(world.state, {"s1": len(rows["s1"])}, 30, world.daemon)

    async def s2_waits() -> bool:  # as the operator sees it
        async with world.control() as client:
            return bool((await client.shop("s2"))["connection"]["state"] == "reconnect_needed")

    await wait_until(s2_waits, 30)
    counts = world.state.counts("s2")
    assert counts["failed"] == 0
    assert counts["delivered"] + counts["pending"] + counts["leased"] == len(rows["s2"])
    assert counts["pending"] > 0, "s2's later events should wait, undelivered"
    waiting = counts["delivered"]
    assert_exact(world.sandbox, world.companies["s1"], world.expected("s1", rows["s1"]))
    assert world.state.counts("s2")["delivered"] == waiting  # still waiting, not burning attempts into failures

    await fixes(world)
    await settle(world.state, {shop: len(r) for shop, r in rows.items()}, 30, world.daemon)
    for shop, shop_rows in rows.items():
        assert world.state.failed(shop) == []
        assert_exact(world.sandbox, world.companies[shop], world.expected(shop, shop_rows))


async def test_a_poison_event_blocks_only_its_own_aggregate(make_world: WorldFactory) -> None:
    world = await make_world()
    rows = _traffic(world)
    day = dt.date.fromisoformat(rows["s1"][-1]["occurred_at"][:10])
    poison = poison_ticket("s1", day)  # an order at 8.5 % VAT, unmapped: a booking error; its payment behind it
    order, payment = poison[0], poison[1]
    cut = len(rows["s1"]) // 2
    world.layout.insert(rows["s1"][:cut] + poison + rows["s1"][cut:])
    world.layout.insert(rows["s2"])
    await world.daemon.start_ready()

    async def poison_failed() -> bool:
        return world.state.states("s1").get(order["event_id"]) == "failed"

    await wait_until(poison_failed, 30)
    await settle(world.state, {"s1": len(rows["s1"]) + 1, "s2": len(rows["s2"])}, 30, world.daemon)
    ((event_id, error_class, message),) = world.state.failed("s1")
    assert event_id == order["event_id"]
    assert error_class == "booking"
    assert "8.5" in message
    states = world.state.states("s1")
    assert states[payment["event_id"]] == "pending"  # waits behind its order, never tried
    assert [states[r["event_id"]] for r in rows["s1"]] == ["delivered"] * len(rows["s1"])
    assert not [p for p in booked_pieces(world.sandbox, world.companies["s1"]) if p.startswith("P-")]
    for shop, shop_rows in rows.items():
        assert_exact(world.sandbox, world.companies[shop], world.expected(shop, shop_rows))
    metrics = await scrape(world.layout.metrics_url)  # what an alert on the failed count would see
    assert metrics['outboxd_failed_deliveries{shop="s1"}'] == 1
    assert metrics['outboxd_queue_depth{shop="s1"}'] == 1  # the payment behind it
    assert metrics['outboxd_oldest_pending_age_seconds{shop="s1"}'] == 0  # blocked, not late: no head is due
    assert metrics['outboxd_failed_deliveries{shop="s2"}'] == metrics['outboxd_queue_depth{shop="s2"}'] == 0


async def test_a_second_event_with_the_same_piece_number_fails_and_the_first_entry_stands(
    make_world: WorldFactory,
) -> None:
    """A ticket number sent again under a new order id (or two shops sharing one company and one prefix) gives
    one piece_number to two events: the second fails with both named; it is neither skipped (lost) nor posted."""
    world = await make_world()
    rows = world.history("s1", days=2)
    first = next(r for r in rows if r["event_type"] == "order.recorded")
    twin = {**first, "event_id": "twin-1", "aggregate_id": "order:twin-1",
            "payload": {**first["payload"], "order_id": "twin-1"}}  # fmt: skip
    world.layout.insert([*rows, twin])
    await world.daemon.start_ready()
    await settle(world.state, {"s1": len(rows) + 1}, 30, world.daemon)

    ((event_id, error_class, message),) = world.state.failed("s1")
    piece = f"{first['payload']['number']}-{first['payload']['register_id']}"
    assert (event_id, error_class) == ("twin-1", "booking")
    assert f"piece_number {piece}: already booked by delivery" in message
    assert "mapping.piece_number.prefix" in message
    assert booked_pieces(world.sandbox, world.companies["s1"])[piece] == 1
    assert_exact(world.sandbox, world.companies["s1"], world.expected("s1", rows))
