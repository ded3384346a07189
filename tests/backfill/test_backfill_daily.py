"""Daily mode: one entry per register and closed day, same trial balance as detailed; split past 1,000 lines."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from backfill_world import Running, World, expected_balance, settled
from books import folded, net
from bridge_setup import wait_until
from test_backfill_detailed import START, _only_reference_delivered, connect_with_history, history

from outboxd.contract import parse_event
from outboxd.rules import ShopMapping, effective_mapping
from outboxd.rules.daily import book_day
from outboxd.shop_simulator import simulate_shop

pytestmark = pytest.mark.timeout(60)


async def test_daily_books_one_entry_per_register_day_with_the_detailed_trial_balance(world: World) -> None:
    rows = history(days=8, orders=12)
    await connect_with_history(world, rows)
    async with Running(world.config()) as daemon:
        await wait_until(lambda: _only_reference_delivered(daemon))  # the chart of accounts is created first
        estimate = await daemon.backfills.estimate("s1", START.isoformat())
        assert estimate["modes"]["daily"]["requests"] < estimate["modes"]["detailed"]["requests"] / 3
        before = world.requests()
        await daemon.backfills.start("s1", "ops", START.isoformat(), "daily")
        await wait_until(lambda: settled(daemon), 40)
        made = world.requests() - before
        assert abs(estimate["modes"]["daily"]["requests"] - made) <= made / 10, (estimate, made)
        stats = (await daemon.store.queue.stats("s1"))[0]
        assert stats.failed == 0
        assert stats.delivered == len(rows)
        pieces = world.pieces()
        days = {(r["payload"]["business_date"], r["payload"]["register_id"]) for r in rows[1:]}
        assert sorted(pieces) == sorted(f"J-{d}-{r}" for d, r in days)
        assert world.sandbox.company(world.company).customers == {}  # every ticket was paid within its day
        assert net(folded(world.sandbox.trial_balance(world.company))) == net(expected_balance(rows, daemon, "s1"))
        # a second daily run finds nothing to send
        again = await daemon.backfills.start("s1", "ops", START.isoformat(), "daily")
        assert again["total"] == 0
        await wait_until(lambda: settled(daemon))
    assert world.pieces() == pieces


async def test_a_day_already_touched_live_stays_detailed(world: World) -> None:
    rows = history(days=3, orders=6)
    await connect_with_history(world, rows)
    first_day = START.isoformat()
    async with Running(world.config()) as daemon:
        # one event of day 1, register r1, was delivered in detailed mode already (e.g. by an earlier backfill)
        await daemon.backfills.start("s1", "ops", first_day, "detailed")
        await daemon.backfills.cancel("s1", "ops")
        await wait_until(lambda: _no_inflight(daemon))
        await daemon.backfills.start("s1", "ops", first_day, "daily")
        await wait_until(lambda: settled(daemon), 40)
        pieces = world.pieces()
        assert max(pieces.values()) == 1
        assert net(folded(world.sandbox.trial_balance(world.company))) == net(expected_balance(rows, daemon, "s1"))
        touched = await daemon.store.db.read(
            "SELECT DISTINCT business_date || json_extract(payload, '$.register_id') FROM deliveries d"
            " JOIN sent_entries s ON s.delivery_id = d.id WHERE s.piece_number NOT LIKE 'J-%'"
        )
        assert all(f"J-{t[0][:10]}-{t[0][10:]}" not in pieces for t in touched)


async def _no_inflight(daemon) -> bool:  # type: ignore[no-untyped-def]
    return (await daemon.store.queue.stats("s1"))[0].leased == 0


def test_book_day_splits_past_the_line_limit_into_balanced_parts() -> None:
    rows = list(simulate_shop("s1", days=1, orders_per_day=60, registers=1, seed=5, start=dt.date(2026, 3, 14)))
    events = [parse_event(r) for r in rows]
    # every customer line kept (customers = "all"), one per ticket and payment: past 40 lines quickly
    mapping = effective_mapping(ShopMapping(customers="all"), events[0].payload)  # type: ignore[arg-type]
    whole = book_day(events[1:], mapping)
    parts = book_day(events[1:], mapping, max_lines=40)
    assert [e.piece_number for e in whole.entries] == ["J-2026-03-14-r1"]
    assert len(parts.entries) > 2
    assert [e.piece_number for e in parts.entries][:2] == ["J-2026-03-14-r1-1", "J-2026-03-14-r1-2"]
    assert all(len(e.lines) <= 40 for e in parts.entries)

    def balance(entries) -> Counter:  # type: ignore[no-untyped-def]
        out: Counter = Counter()
        for entry in entries:
            for line in entry.lines:
                out[(str(line.account), "d")] += line.debit
                out[(str(line.account), "c")] += line.credit
        return out

    assert balance(parts.entries) == balance(whole.entries)
    customer_lines = [ln for ln in whole.entries[0].lines if "411" in str(ln.account) or "Customer" in str(ln.account)]
    tickets = sum(1 for e in events if e.event_type in ("order.recorded", "payment.recorded"))
    assert len(customer_lines) == tickets  # one customer line per ticket and payment, never merged


async def test_a_bug_in_booking_a_day_hands_it_to_the_dispatcher(world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rows = history(days=2, orders=4)
    await connect_with_history(world, rows)

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug in book_day")

    monkeypatch.setattr("outboxd.daemon.daybook.book_day", broken)
    async with Running(world.config()) as daemon:
        await daemon.backfills.start("s1", "ops", START.isoformat(), "daily")
        await wait_until(lambda: settled(daemon))
        assert (await daemon.store.queue.stats("s1"))[0].delivered == len(rows)
        assert not any(piece.startswith("J-") for piece in world.pieces())
        assert max(world.pieces().values()) == 1
        assert net(folded(world.sandbox.trial_balance(world.company))) == net(expected_balance(rows, daemon, "s1"))
