"""Daily mode's customers: only those a day leaves owing get an account (customers = "on_account", the default),
and their tickets are lettered once paid on a later day; a day's unknown ones are looked up 100 per request, so a
new customer costs its create."""

from __future__ import annotations

import math

import pytest
from backfill_world import Running, World, settled
from bridge_setup import wait_until
from test_backfill_detailed import START, _only_reference_delivered, connect_with_history, history

from outboxd.money import parse_amount
from outboxd.shop_simulator import simulate_shop

pytestmark = pytest.mark.timeout(60)


async def test_a_day_with_n_new_customers_costs_n_creates_and_one_lookup_per_100(world: World) -> None:
    world.mapping = {"customers": "all", "lettering": False}  # every ticket's customer gets an account, paid or not
    rows = history(days=1, orders=1400)
    await connect_with_history(world, rows)
    async with Running(world.config()) as daemon:
        await wait_until(lambda: _only_reference_delivered(daemon))
        company = world.sandbox.company(world.company)
        before, known = world.requests(), set(company.customer_refs)
        chart = {n for n in company.account_numbers if not n.startswith("411")}
        await daemon.backfills.start("s1", "ops", START.isoformat(), "daily")
        await wait_until(lambda: settled(daemon), 40)
        made = world.requests() - before
        new = len(set(company.customer_refs) - known)
        assert new > 100  # two lookups
        checks = 1  # GET /fiscal_years: start checks the date
        created = {n for n in company.account_numbers if not n.startswith("411")} - chart
        accounts = len(created) + 1  # created on first use, after one lookup of the chart's unknown accounts
        assert made == checks + accounts + sum(world.pieces().values()) + new + math.ceil(new / 100)  # was 2 x new
        assert (await daemon.store.queue.stats("s1"))[0].failed == 0


async def test_daily_creates_only_the_customers_a_day_leaves_owing(world: World) -> None:
    rows = list(simulate_shop("s1", days=10, orders_per_day=30, registers=2, seed=3, start=START, on_account=0.1))
    await connect_with_history(world, rows)
    async with Running(world.config()) as daemon:
        await wait_until(lambda: _only_reference_delivered(daemon))
        estimate = await daemon.backfills.estimate("s1", START.isoformat())
        await daemon.backfills.start("s1", "ops", START.isoformat(), "daily")
        await wait_until(lambda: settled(daemon), 40)
        assert (await daemon.store.queue.stats("s1"))[0].failed == 0
        day_of = {r["payload"]["order_id"]: r["payload"]["business_date"] for r in rows
                  if r["event_type"] == "order.recorded"}  # fmt: skip
        later = {r["payload"]["order_id"] for r in rows if r["event_type"] == "payment.recorded"
                 and r["payload"]["business_date"] != day_of[r["payload"]["order_id"]]}  # fmt: skip
        assert later  # tickets on account paid on a later day: each lettered, nothing else

        async def lettered() -> bool:
            done = await daemon.store.db.read("SELECT order_id FROM letterings WHERE state = 'lettered'")
            return {r[0] for r in done} == later

        await wait_until(lettered, 20)
    owed: dict[str, int] = {}
    for row in rows:  # what each ticket leaves owing at the end of its own day
        payload = row["payload"]
        if row["event_type"] == "order.recorded" and payload["customer"]:
            owed[payload["order_id"]] = parse_amount(payload["total_incl_tax"])
        elif row["event_type"] == "payment.recorded" and payload["order_id"] in owed:
            order_day = next(r["payload"]["business_date"] for r in rows if r["payload"].get("number")
                             and r["payload"]["order_id"] == payload["order_id"])
            if payload["business_date"] == order_day:
                owed[payload["order_id"]] -= parse_amount(payload["amount"])
    orders = {r["payload"]["order_id"]: r["payload"]["customer"]["id"] for r in rows
              if r["event_type"] == "order.recorded" and r["payload"]["customer"]}
    owing = {orders[o] for o, cents in owed.items() if cents}
    everyone = set(orders.values())
    assert owing
    assert len(everyone) > len(owing)
    created = world.sandbox.company(world.company).customer_refs
    assert set(created) == {f"kashclick:s1:{c}" for c in owing}  # nobody who paid at the counter
    assert estimate["new_customers"] == len(everyone)
