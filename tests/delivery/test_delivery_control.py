"""The control API on the real daemon: in-process, real SQLite files, the simulator on loopback, the real client.

Shop ``s1`` is connected by a company API token in the configuration; shop ``s2`` connects through OAuth during
the test (once through ``connect/complete``, once through the daemon's callback listener).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from bridge_setup import wait_until
from daemon_bench import Bench, bench
from peer import audited

from outboxd.daemon.operations import mapping_accounts
from outboxd.demo.tickets import POISON_ORDER, poison_ticket
from outboxd.exceptions import BadRequest, ControlError, NotFound
from outboxd.money import parse_rate
from outboxd.rules import ShopMapping
from outboxd.rules.accounts import required_accounts
from outboxd.shop_simulator import simulate_shop

pytestmark = pytest.mark.timeout(90)


async def until(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    await wait_until(check, within)


async def s1(world: Bench) -> dict[str, Any]:
    return await world.client.shop("s1")


async def s1_has(world: Bench, key: str, value: Any) -> bool:
    return bool((await s1(world))[key] == value)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[Bench]:
    async with bench(tmp_path) as b:
        yield b


def _history(days: int = 2) -> list[dict[str, Any]]:
    start = dt.date.today() - dt.timedelta(days=days)
    return list(simulate_shop("s1", days=days, orders_per_day=6, registers=2, seed=7, start=start))


async def test_status_shows_the_connected_shop_and_its_queue_moving_to_delivered(world: Bench) -> None:
    before = await s1(world)
    assert before["connection"]["state"] == "connected"
    assert before["connection"]["kind"] == "api_token"
    assert before["connection"]["company_name"] == "Boulangerie Martin"
    assert before["connection"]["missing_scopes"] == []
    assert before["name"] == "Paris 1"
    assert before["delivered_today"] == 0
    rows = _history()
    await world.client.pause("s1", "hold while we count")
    world.insert(rows)
    await until(lambda: s1_has(world, "queue_depth", len(rows)))
    paused = await s1(world)
    assert paused["paused"]
    assert paused["pause_reason"] == "hold while we count"
    assert paused["oldest_pending_age"] is not None
    await world.client.resume("s1")
    await until(lambda: s1_has(world, "delivered_today", len(rows)))
    after = await s1(world)
    assert after["queue_depth"] == 0
    assert after["failed"] == 0
    assert not after["paused"]
    assert sum(after["throughput"]) == len(rows)
    assert len(after["throughput"]) == 30
    assert after["rate_limit"]["limit"] == 1000
    assert after["rate_limit"]["used"] > 0
    status = await world.client.status()
    assert status["daemon"]["ready"]
    assert status["daemon"]["pid"] == os.getpid()
    assert [s["shop_id"] for s in status["shops"]] == ["s1", "s2"]
    assert status["shops"][1]["connection"]["state"] == "disconnected"
    actions = [item["action"] for item in (await world.client.audit("s1"))["items"]]
    assert actions == ["shop.resume", "shop.pause"]


async def test_a_poison_ticket_fails_alone_then_retry_and_discard_and_bulk(world: Bench) -> None:
    rows = _history(1)
    poison = poison_ticket("s1", dt.date.today() - dt.timedelta(days=1))
    world.insert(rows[:5] + poison + rows[5:])
    await until(lambda: s1_has(world, "delivered_today", len(rows)))
    listing = await world.client.failed({"shop": "s1"})
    assert listing["total"] == 1
    (item,) = listing["items"]
    assert item["error_class"] == "booking"
    assert "vat_rate 8.5" in item["message"]
    assert item["event_type"] == "order.recorded"
    assert item["aggregate_id"] == f"order:{POISON_ORDER}"
    assert (await s1(world))["failed"] == 1
    assert (await s1(world))["queue_depth"] == 1

    detail = await world.client.delivery(item["id"])
    assert detail["state"] == "failed"
    assert detail["payload"]["lines"][0]["vat_rate"] == "8.5"
    assert [a["outcome"] for a in detail["attempts"]] == ["failed"]
    assert detail["attempts"][0]["error_class"] == "booking"
    assert detail["entries"] == []  # nothing booked, nothing sent
    assert len(detail["blocked"]) == 1

    assert await world.client.bulk_retry({"error_class": "booking"}, dry_run=True) == {"matched": 1, "retried": 0}
    assert await world.client.bulk_retry({"older_than": 3600}, dry_run=True) == {"matched": 0, "retried": 0}
    assert await world.client.retry(item["id"]) == {"retried": 1}

    async def failed_again() -> bool:
        return len((await world.client.delivery(item["id"]))["attempts"]) == 2

    await until(failed_again)
    assert (await world.client.delivery(item["id"]))["state"] == "failed"
    with pytest.raises(ControlError):
        await world.client.retry(detail["blocked"][0])  # pending, not failed: a conflict
    assert await world.client.bulk_discard({"shop": "s1"}, "8.5 % is not sold here", dry_run=True) == {
        "matched": 1, "discarded": 0}  # fmt: skip
    assert await world.client.discard(item["id"], "8.5 % sold by mistake, booked by hand") == {"discarded": 1}

    payment = detail["blocked"][0]

    async def payment_tried() -> bool:
        return bool((await world.client.delivery(payment))["attempts"])

    await until(payment_tried)  # unblocked: it runs now (and fails: its ticket was never booked)
    paid = await world.client.delivery(payment)
    assert paid["state"] == "failed"
    assert "never booked" in paid["message"]
    assert paid["blocked"] == []
    audit = (await world.client.audit("s1"))["items"]
    assert [a["action"] for a in audit[:2]] == ["delivery.discard", "delivery.retry"]
    assert audit[0]["actor"] == audited("alice")
    assert audit[0]["detail"]["reason"] == "8.5 % sold by mistake, booked by hand"


async def test_delivery_detail_renders_the_entries_sent(world: Bench) -> None:
    rows = _history(1)
    world.insert(rows)
    await until(lambda: s1_has(world, "delivered_today", len(rows)))
    order = next(r for r in rows if r["event_type"] == "order.recorded")
    delivery_id = await _delivery_id(world, order["event_id"])
    detail = await world.client.delivery(delivery_id)
    assert detail["state"] == "delivered"
    assert detail["blocked"] == []
    (entry,) = detail["entries"]
    assert entry["state"] == "posted"
    assert entry["pennylane_id"] is not None
    assert entry["piece_number"].startswith(order["payload"]["number"])
    debit = sum(parse_rate_cents(line["debit"]) for line in entry["lines"])
    assert debit == sum(parse_rate_cents(line["credit"]) for line in entry["lines"]) > 0
    assert [a["outcome"] for a in detail["attempts"]] == ["delivered"]
    mapping = await world.client.mapping("s1")
    journals = {j["register_id"]: j for j in mapping["journals"]}
    assert sorted(journals) == ["r1", "r2"]
    assert all(j["exists"] for j in journals.values())
    assert entry["journal"] == journals[order["payload"]["register_id"]]["code"]
    roles = {a["role"] for a in mapping["accounts"]}
    assert roles == {"sales", "vat", "payment", "chapter", "customer", "closing", "difference"}
    assert any(a["exists"] for a in mapping["accounts"])
    assert not all(a["exists"] for a in mapping["accounts"])


def parse_rate_cents(text: str) -> int:
    units, _, frac = text.partition(".")
    return int(units) * 100 + int(frac)


async def _delivery_id(world: Bench, event_id: str) -> int:
    rows = await world.daemon.store.db.read("SELECT id FROM deliveries WHERE event_id = ?", (event_id,))
    return int(rows[0][0])


async def test_errors_unknown_shop_and_delivery_bad_reason_and_backfill_delegated(world: Bench) -> None:
    with pytest.raises(NotFound):
        await world.client.shop("nowhere")
    with pytest.raises(NotFound):
        await world.client.delivery(999_999)
    with pytest.raises(BadRequest):
        await world.client.discard(1, "   ")
    with pytest.raises(NotFound):
        await world.client.backfill_estimate("nowhere")
    assert await world.client.backfill_get("s1") is None
    assert (await s1(world))["backfill"] is None


async def test_oauth_connect_through_the_control_api_and_through_the_callback_listener(world: Bench) -> None:
    started = await world.client.connect_start("s2")
    assert started["redirect_uri"] == world.daemon.config.redirect_uri
    assert (await world.client.shop("s2"))["connection"]["state"] == "pending"
    redirect = world.sandbox.approve(started["authorize_url"], world.companies["s2"])
    connection = await world.client.connect_complete("s2", redirect)
    assert connection["state"] == "connected"
    assert connection["kind"] == "oauth"
    assert connection["company_name"] == "Cave Durand"
    assert connection["expires_at"] > 0
    assert set(world.daemon.config.pennylane.scopes) <= set(connection["scopes"])
    with pytest.raises(BadRequest):
        await world.client.connect_complete("s2", redirect)  # single use

    assert (await world.client.disconnect("s2"))["state"] == "disconnected"
    started = await world.client.connect_start("s2")
    redirect = world.sandbox.approve(started["authorize_url"], world.companies["s2"])
    async with aiohttp.ClientSession() as http, http.get(redirect) as page:
        assert page.status == 200
        assert "Cave Durand" in await page.text()
    again = (await world.client.shop("s2"))["connection"]
    assert again["state"] == "connected"
    assert again["company_name"] == "Cave Durand"
    items = (await world.client.audit("s2"))["items"]
    actions = [a["action"] for a in items]
    assert items[0]["actor"] == "oauth-callback"
    # newest first; the connect completed by the browser on the callback listener is audited too
    assert actions == ["connect.complete", "connect.start", "connect.disconnect", "connect.complete", "connect.start"]


async def test_after_the_mapping_fix_and_a_restart_a_retry_books_the_poison_and_its_payment(world: Bench) -> None:
    rows = _history(1)
    world.insert(rows + poison_ticket("s1", dt.date.today() - dt.timedelta(days=1)))
    await until(lambda: s1_has(world, "failed", 1))
    await world.client.pause("s1", "fixing the mapping")
    (item,) = (await world.client.failed())["items"]
    fixed = {"vat_rates": ["20", "10", "5.5", "2.1", "0", "8.5"]}
    await world.restart(mapping=fixed)
    assert (await s1(world))["paused"]  # the pause outlives the restart
    assert (await world.client.mapping("s1"))["journals"]  # and so does the reference (registers)
    await world.client.resume("s1")
    assert await world.client.retry(item["id"]) == {"retried": 1}
    await until(lambda: s1_has(world, "delivered_today", len(rows) + 2))
    detail = await world.client.delivery(item["id"])
    assert detail["state"] == "delivered"
    assert [a["outcome"] for a in detail["attempts"]] == ["failed", "delivered"]
    assert any(line["account"] == "707085" for line in detail["entries"][0]["lines"])


def test_mapping_accounts_cover_exactly_the_required_accounts() -> None:
    mapping = ShopMapping()
    assert {a["number"] for a in mapping_accounts(mapping)} == {
        a.number for a in required_accounts(mapping, mapping.vat_rates)
    }
    assert parse_rate("8.5") not in mapping.vat_rates


async def test_a_customer_line_shows_its_411_number_read_from_pennylane_once(world: Bench) -> None:
    """A new customer's number is not read when it is booked (2 requests, not 3): the detail reads it once."""
    delivery_id, reference, account_id = await _a_booked_customer(world)
    number = world.sandbox.companies[world.companies["s1"]].accounts[account_id].number
    before = sum(world.sandbox.request_count.values())
    for _ in range(2):
        detail = await world.client.delivery(delivery_id)
        assert number in [line["account"] for entry in detail["entries"] for line in entry["lines"]]
        assert sum(world.sandbox.request_count.values()) - before == 1  # read the first time only, then cached
    cached = await world.daemon.store.caches.customer("s1", reference)
    assert cached is not None
    assert cached.account_number == number


async def test_a_customer_line_of_a_disconnected_shop_says_its_number_is_not_read(world: Bench) -> None:
    delivery_id, reference, _ = await _a_booked_customer(world)
    await world.client.disconnect("s1")
    before = sum(world.sandbox.request_count.values())
    detail = await world.client.delivery(delivery_id)
    names = [line["account"] for entry in detail["entries"] for line in entry["lines"]]
    assert f"customer {reference} (411 number not read)" in names
    assert sum(world.sandbox.request_count.values()) == before


async def _a_booked_customer(world: Bench) -> tuple[int, str, int]:
    """A day of s1 booked; the delivery of a ticket naming a customer, the customer's reference and account id."""
    rows = _history(1)
    world.insert(rows)
    await until(lambda: s1_has(world, "delivered_today", len(rows)))
    ticket = next(r for r in rows if r["event_type"] == "order.recorded" and r["payload"]["customer"])
    store = world.daemon.store
    deliveries = [await store.deliveries.get(i) for i in range(1, len(rows) + 1)]
    delivery_id = next(d.id for d in deliveries if d is not None and d.event_id == ticket["event_id"])
    reference = f"kashclick:s1:{ticket['payload']['customer']['id']}"
    cached = await store.caches.customer("s1", reference)
    assert cached is not None
    assert cached.account_number is None  # booking did not read it
    return delivery_id, reference, cached.ledger_account_id
