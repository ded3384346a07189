"""``History`` on both state databases: what a backfill would take, its release, its days in order, its end.

The daemon's tests run on SQLite; these statements also run through the PostgreSQL translation (skipped, with
the reason, when no server answers at 127.0.0.1:5432).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "store"))
from store_helpers import state_database

from outboxd.shop_simulator import simulate_shop
from outboxd.store import ImportedEvent, Store, open_store
from outboxd.store.history import DAILY, HELD, History

START = dt.date(2026, 3, 2)
ROWS = list(simulate_shop("s1", days=4, orders_per_day=10, registers=2, seed=4, start=START))[1:]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with state_database(request.param, tmp_path) as path, open_store(path, owner="t") as opened:
        yield opened


async def test_a_daily_backfill_walks_its_days_in_order_then_ends(store: Store) -> None:
    history = History(store.db, store.clock)
    events = [
        ImportedEvent(
            r["event_id"], "s1", r["event_type"], r["aggregate_id"], r["occurred_at"], json.dumps(r["payload"])
        )
        for r in ROWS
    ]
    assert await store.deliveries.ingest_rows(events, held=True) == len(ROWS)  # as ``outboxd import`` does
    assert sum(n for *_, n in await history.register_days("s1", START)) == len(ROWS)
    customers = {r["payload"]["customer"]["id"] for r in ROWS if (r["payload"].get("customer") or {}).get("id")}
    tickets = await history.tickets("s1", START, "kashclick:s1:")
    assert (tickets.new_customers, tickets.new_owing_customers) == (len(customers), 0)  # all paid within the day
    orders = {r["payload"]["order_id"] for r in ROWS if r["event_type"] == "order.recorded"}
    assert tickets.settled == len(orders)
    assert tickets.settled_later == 0  # nothing for a day's entry to letter
    await store.caches.save_customer("s1", f"kashclick:s1:{min(customers)}", 1, 2, "4110001")
    assert (await history.tickets("s1", START, "kashclick:s1:")).new_customers == len(customers) - 1

    cut = START + dt.timedelta(days=1)
    backfill = await store.backfills.create("s1", cut, None, "daily", "ops")
    total = await history.release(backfill.id, "s1", cut, START + dt.timedelta(days=10), set())
    before = [r for r in ROWS if r["payload"]["business_date"] < cut.isoformat()]
    assert total == len(ROWS) - len(before)
    assert await history.remaining(backfill.id) == {str(DAILY): total}
    assert await history.open_references("s1") == 0

    seen: list[str] = []
    while days := await history.next_days("s1", backfill.id, 2):
        first = days[0]
        assert len({row.business_date for row in first}) == 1
        assert [row.id for row in first] == sorted(row.id for row in first)
        seen.append(str(first[0].business_date))
        assert await history.deliver_day(row.id for row in first) == len(first)
    assert seen == sorted({r["payload"]["business_date"] for r in ROWS} - {START.isoformat()})
    assert await history.remaining(backfill.id) == {}

    # the history before the cut was skipped; a cancelled backfill from the start takes it back, held again
    again = await store.backfills.create("s1", START, None, "daily", "ops")
    assert await history.release(again.id, "s1", START, START + dt.timedelta(days=10), set()) == len(before)
    assert await history.cancel(again.id) == len(before)
    held = await store.db.read("SELECT count(*) FROM deliveries WHERE state = 'pending' AND priority = $1", (HELD,))
    assert held[0][0] == len(before)
