"""Live daily booking through ``outboxd run`` (a real process): one shop books one entry per register and day at
the register's closing, the other one entry per event, through a simulated month with tickets bought on account,
503s, connections cut after the commit and a kill -9. The daily shop's net balances equal the detailed books of
the same events, no piece is booked twice, only customers who left a day owing money exist in Pennylane, and each
ticket on account paid on a later day has its line in its day's entry lettered with its payments' (unpaid: open)."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import sqlite3
import subprocess
from collections import Counter
from contextlib import closing
from typing import Any

import pytest
from books import folded, net
from e2e_harness import DAEMON, World, WorldFactory, assert_exact, booked_pieces, duplicates, settle, wait_until

from outboxd.demo.tickets import poison_ticket
from outboxd.exceptions import BadRequest
from outboxd.money import parse_amount
from outboxd.pennylane_simulator import Sandbox
from outboxd.rules import customer_reference
from outboxd.shop_simulator import simulate_shop

pytestmark = pytest.mark.timeout(120)

START = dt.date(dt.date.today().year, 1, 5)


def month(shop_id: str, days: int, seed: int) -> list[dict[str, Any]]:
    return list(simulate_shop(shop_id, days=days, orders_per_day=10, registers=2, seed=seed, start=START,
                              on_account=0.05))  # fmt: skip


def booking(world: World, shop_id: str, mode: str) -> None:
    """The shop's initial mode in the daemon's configuration file."""
    path = world.layout.config_path
    section = f'[shops."{shop_id}"]\n'
    path.write_text(path.read_text().replace(section, f'{section}booking = "{mode}"\n', 1))


def register_days(rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(r["payload"]["business_date"], r["payload"]["register_id"]) for r in rows
            if r["event_type"] != "reference.updated"}  # fmt: skip


def late_ticket(rows: list[dict[str, Any]], day: str, register_id: str) -> list[dict[str, Any]]:
    """A counter ticket of ``day`` and its payments, rung up again after that register's Z (new ids)."""
    order = next(r for r in rows if r["event_type"] == "order.recorded" and r["payload"]["business_date"] == day
                 and r["payload"]["register_id"] == register_id and r["payload"]["customer"] is None)  # fmt: skip
    old = order["payload"]["order_id"]
    late = []
    for row in [order, *(r for r in rows if r["event_type"] == "payment.recorded" and r["payload"]["order_id"] == old)]:
        row = copy.deepcopy(row)
        row["event_id"] += "-late"
        row["aggregate_id"] = "order:late-1"
        row["payload"]["order_id"] = "late-1"
        if row["event_type"] == "order.recorded":
            row["payload"]["number"] = "T-LATE01"
        else:
            row["payload"]["payment_id"] += "-late"
        late.append(row)
    return late


def owing_customers(shop_id: str, rows: list[dict[str, Any]]) -> set[str]:
    """External references of the customers whose ticket was not settled within its register-day."""
    paid: Counter[tuple[str, str, str]] = Counter()
    for r in rows:
        if r["event_type"] == "payment.recorded":
            p = r["payload"]
            paid[(p["order_id"], p["business_date"], p["register_id"])] += int(p["amount"].replace(".", ""))
    owing = set()
    for r in rows:
        p = r["payload"]
        if r["event_type"] == "order.recorded" and p["customer"]:
            total = int(p["total_incl_tax"].replace(".", ""))
            if paid[(p["order_id"], p["business_date"], p["register_id"])] != total:
                owing.add(customer_reference(shop_id) + str(p["customer"]["id"]))
    return owing


def on_account(rows: list[dict[str, Any]]) -> tuple[dict[str, list[int]], set[str]]:
    """The tickets left owing at their register-day's end: (number -> the customer-account amounts of the ticket and
    of its payments, debit positive, for those paid in full later; the numbers of those still unpaid)."""
    payments: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["event_type"] == "payment.recorded" and parse_amount(r["payload"]["amount"]):
            payments.setdefault(r["payload"]["order_id"], []).append(r["payload"])
    paid, unpaid = {}, set()
    for r in rows:
        p = r["payload"]
        if r["event_type"] != "order.recorded" or not p["customer"]:
            continue
        total, its = parse_amount(p["total_incl_tax"]), payments.get(p["order_id"], [])
        same_day = [q for q in its if (q["business_date"], q["register_id"]) == (p["business_date"], p["register_id"])]
        if total == sum(parse_amount(q["amount"]) for q in same_day):
            continue  # settled within its day: no customer line, nothing to letter
        if total == sum(parse_amount(q["amount"]) for q in its):
            paid[p["number"]] = sorted([total, *(-parse_amount(q["amount"]) for q in its)])
        else:
            unpaid.add(p["number"])
    return paid, unpaid


def day_lettering_gaps(sandbox: Sandbox, company_id: int, rows: list[dict[str, Any]]) -> list[str]:
    """What differs from the expected lettering of a daily shop's tickets on account (empty: all as it should be):
    each one paid later lettered with exactly its payments, the unpaid ones open, every group balanced."""
    books = sandbox.companies[company_id]
    paid, unpaid = on_account(rows)
    tickets = {}  # number -> the id of its customer line in its day's entry
    for line_id, (entry, line) in books.lines.items():
        number = line.label.split(" ")[1] if line.label.startswith("Ticket ") else ""
        if str(entry.piece_number).startswith("J-") and number in paid.keys() | unpaid:
            tickets[number] = line_id
    amount = lambda i: books.lines[i][1].debit - books.lines[i][1].credit  # noqa: E731
    group = {n: sorted(map(amount, books.lettering.get(line_id, ()))) for n, line_id in tickets.items()}
    gaps = [f"{n}: no customer line in its day's entry" for n in paid.keys() | unpaid if n not in tickets]
    gaps += [f"{n}: lettered with {group[n]}, expected {want}" for n, want in paid.items() if group.get(n) != want]
    gaps += [f"{n}: lettered though unpaid" for n in unpaid if tickets.get(n) in books.lettering]
    gaps += [f"unbalanced group of {len(g)} lines" for g in set(books.lettering.values()) if sum(map(amount, g))]
    return gaps


async def test_a_daily_shop_and_a_detailed_shop_through_a_month_with_faults_and_a_kill_9(
    make_world: WorldFactory,
) -> None:
    world = await make_world(lease_seconds=600.0)
    booking(world, "s1", "daily")
    rows = {"s1": month("s1", 30, 11), "s2": month("s2", 30, 11)}
    half = {shop: len(r) // 2 for shop, r in rows.items()}
    for shop, shop_rows in rows.items():
        world.layout.insert(shop_rows[: half[shop]])
    world.sandbox.faults.update(fail_rate=0.1, drop_after_commit=0.1)
    await world.daemon.start_ready()

    async def some_days_booked() -> bool:
        return sum(piece.startswith("J-") for piece in booked_pieces(world.sandbox, world.companies["s1"])) >= 6

    await wait_until(some_days_booked, 60)
    world.daemon.kill9()
    await world.daemon.start_ready()
    for shop, shop_rows in rows.items():
        world.layout.insert(shop_rows[half[shop] :])
    await settle(world.state, {shop: len(r) for shop, r in rows.items()}, 100, world.daemon)

    # a ticket rung up on register r1 after its first day's Z: booked on its own, not lost, not in the day's entry
    late = late_ticket(rows["s1"], START.isoformat(), "r1")
    world.layout.insert(late)
    rows["s1"] += late
    await settle(world.state, {"s1": len(rows["s1"])}, 30, world.daemon)
    world.sandbox.faults.update(fail_rate=0.0, drop_after_commit=0.0)

    assert world.state.failed("s1") == []
    assert world.state.failed("s2") == []
    daily = world.companies["s1"]
    pieces = booked_pieces(world.sandbox, daily)
    assert not duplicates(world.sandbox, daily)
    days = {f"J-{day}-{register}" for day, register in register_days(rows["s1"])}
    assert {p for p in pieces if p.startswith("J-")} == days  # one entry per register-day
    assert {p for p in pieces if not p.startswith("J-")} == {"T-LATE01-r1", *(f"PAY-{r['payload']['payment_id']}"
                                                                          for r in late[1:])}  # fmt: skip
    want = world.expected("s1", rows["s1"])
    assert net(folded(world.sandbox.trial_balance(daily))) == net(want.balance)
    created = {c.external_reference for c in world.sandbox.company(daily).customers.values()}
    owing = owing_customers("s1", rows["s1"])
    assert owing
    assert created == owing
    paid, unpaid = on_account(rows["s1"])
    assert paid
    assert unpaid

    async def lettered() -> bool:
        return not day_lettering_gaps(world.sandbox, daily, rows["s1"])

    try:
        await wait_until(lettered, 15)  # the lettering task letters what a day's settle made due, once a second
    except AssertionError:
        assert day_lettering_gaps(world.sandbox, daily, rows["s1"]) == []
    number = min(paid)  # a ticket on account paid later, as its delivery's detail shows it (ctl show)
    ticket = next(r for r in rows["s1"] if r["event_type"] == "order.recorded" and r["payload"]["number"] == number)
    with closing(sqlite3.connect(f"file:{world.state.path}?mode=ro", uri=True)) as conn:
        (delivery,) = conn.execute("SELECT id FROM deliveries WHERE event_id = ?", (ticket["event_id"],)).fetchone()
    async with world.control() as client:
        lettering = (await client.delivery(delivery))["lettering"]
    assert lettering is not None
    assert lettering["state"] == "lettered"
    assert all(line["lettered"] for line in lettering["lines"])
    day = f"J-{ticket['payload']['business_date']}-{ticket['payload']['register_id']}"
    assert lettering["lines"][0]["piece_number"] == day  # the ticket's line, in its day's entry

    assert_exact(world.sandbox, world.companies["s2"], world.expected("s2", rows["s2"]))
    assert len(world.sandbox.company(world.companies["s2"]).customers) > len(created)
    log = world.daemon.log_path.read_text()
    assert '"backfill.day_booked"' in log
    assert await world.daemon.terminate(10) == 0


async def test_a_switch_to_daily_through_the_control_api_from_a_date_on_audited(make_world: WorldFactory) -> None:
    """The detailed shop switched at run time from a date its first days are past: the register-days already
    touched stay detailed (a day half booked too), the others are booked one entry each; ``ctl booking`` shows it;
    the audit log keeps who and why; a switch without a reason is refused."""
    world = await make_world()
    rows = month("s2", 12, 5)
    # the first four days and a few events of the fifth are booked before the switch
    cut = next(n for n, r in enumerate(rows) if r["payload"].get("business_date") == day(5)) + 4
    first = rows[:cut]
    world.layout.insert(first)
    await world.daemon.start_ready()
    await settle(world.state, {"s2": len(first)}, 30, world.daemon)
    async with world.control() as client:
        assert (await client.booking("s2"))["mode"] == "detailed"
        with pytest.raises(BadRequest, match="reason"):
            await client.booking_switch("s2", "daily", day(3), " ")
        answer = await client.booking_switch("s2", "daily", day(3), "the accountant wants the Z per day")
        audit = (await client.audit("s2"))["items"][0]
        assert (await client.shop("s2"))["booking"] == "daily"
    assert answer["mode"] == "daily"
    assert answer["switches"][-1]["from_date"] == day(3)
    assert audit["action"] == "booking.switch"
    assert "e2e" in audit["actor"]
    assert audit["detail"]["reason"] == "the accountant wants the Z per day"
    command = [str(DAEMON), "ctl", "--socket", str(world.layout.socket), "booking", "s2"]
    shown = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, check=True, timeout=30)
    assert "s2 books daily today" in shown.stdout
    assert "the accountant wants the Z per day" in shown.stdout
    without_date = [*command, "detailed", "--reason", "back"]
    refused = await asyncio.to_thread(subprocess.run, without_date, capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0
    assert "--from YYYY-MM-DD" in refused.stderr

    world.layout.insert(rows[len(first) :])
    await settle(world.state, {"s2": len(rows)}, 60, world.daemon)
    assert world.state.failed("s2") == []
    company = world.companies["s2"]
    pieces = booked_pieces(world.sandbox, company)
    touched = {(r["payload"]["business_date"], r["payload"]["register_id"]) for r in first[1:]}
    later = {(d, r) for d, r in register_days(rows) if d >= day(3)} - touched
    assert any(d == day(5) for d, _ in later)  # the fifth day's register that had no event yet
    assert {p for p in pieces if p.startswith("J-")} == {f"J-{d}-{r}" for d, r in later}
    assert not duplicates(world.sandbox, company)
    before = world.expected("s2", first)
    assert set(before.pieces) <= set(pieces)  # what was booked event by event stays so
    assert net(folded(world.sandbox.trial_balance(company))) == net(world.expected("s2", rows).balance)


def day(n: int) -> str:
    return (START + dt.timedelta(days=n - 1)).isoformat()


async def test_a_register_day_that_cannot_be_booked_as_one_goes_event_by_event(make_world: WorldFactory) -> None:
    """A ticket at a VAT rate the chart lacks in a daily register-day: the day goes to the dispatcher event by
    event, the ticket alone fails (its payment waits behind it), every other event is booked; the other days are
    booked one entry each."""
    world = await make_world()
    booking(world, "s1", "daily")
    rows = month("s1", 3, 2)
    closing = next(n for n, r in enumerate(rows) if r["event_type"] == "register.closed"
                   and r["payload"]["business_date"] == day(2) and r["payload"]["register_id"] == "r1")  # fmt: skip
    poison = poison_ticket("s1", dt.date.fromisoformat(day(2)))
    rows[closing:closing] = poison
    world.layout.insert(rows)
    await world.daemon.start_ready()
    await settle(world.state, {"s1": len(rows) - 1}, 60, world.daemon)  # the poison's payment waits behind it

    (failed,) = world.state.failed("s1")
    assert failed[0] == poison[0]["event_id"]
    assert failed[1] == "booking"
    pieces = booked_pieces(world.sandbox, world.companies["s1"])
    assert {p for p in pieces if p.startswith("J-")} == {f"J-{d}-{r}" for d, r in register_days(rows)} - {
        f"J-{day(2)}-r1"
    }
    detailed = [
        r for r in rows if r["payload"].get("business_date") == day(2) and r["payload"].get("register_id") == "r1"
    ]
    booked = world.expected("s1", [rows[0], *(r for r in detailed if r not in poison)])
    assert set(booked.pieces) <= set(pieces)  # every other event of that day, on its own
    assert not duplicates(world.sandbox, world.companies["s1"])
    assert '"backfill.day_to_detailed"' in world.daemon.log_path.read_text()
