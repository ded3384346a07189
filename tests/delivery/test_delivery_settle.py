"""The end of a delivery, in-process against the simulator: one unit of writes and one info line per ticket."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

import pytest
from bridge_setup import Bridge, wait_until
from structlog.testing import capture_logs

from outboxd.daemon import Daemon
from outboxd.pennylane_simulator import Sandbox, run_sandbox
from outboxd.shop_simulator import simulate_shop

pytestmark = pytest.mark.timeout(60)


async def test_a_delivered_event_leaves_its_entries_posted_one_attempt_and_one_info_line(tmp_path) -> None:
    sandbox = Sandbox(rate_limit=None)
    async with run_sandbox(sandbox) as handle:
        company = sandbox.add_company("Boutique").id
        bridge = Bridge(tmp_path / "bridge", handle.api_url, {"s1": sandbox.issue_api_token(company)}).write()
        rows = list(simulate_shop("s1", days=2, orders_per_day=10, registers=1, seed=4, start=dt.date(2026, 1, 5)))
        bridge.insert(rows)
        daemon = Daemon(bridge.config())
        with capture_logs() as logs:
            runner = asyncio.create_task(daemon.run())
            try:
                await asyncio.wait_for(daemon.ready.wait(), 10)

                async def settled() -> bool:
                    stats = await daemon.store.queue.stats("s1")
                    return bool(stats) and stats[0].delivered + stats[0].failed >= len(rows)

                await wait_until(settled, 30)
                (stats,) = await daemon.store.queue.stats("s1")
                assert (stats.delivered, stats.failed) == (len(rows), 0)
                rows_of = await daemon.store.db.read(
                    "SELECT d.id, d.event_type, "
                    "(SELECT count(*) FROM attempts WHERE delivery_id = d.id), "
                    "(SELECT count(*) FROM attempts WHERE delivery_id = d.id AND outcome = 'delivered'), "
                    "(SELECT count(*) FROM sent_entries WHERE delivery_id = d.id), "
                    "(SELECT count(*) FROM sent_entries WHERE delivery_id = d.id AND state = 'posted') "
                    "FROM deliveries d"
                )
            finally:
                daemon.stop()
                await asyncio.wait_for(runner, 20)
    for delivery_id, event_type, attempts, delivered, entries, posted in rows_of:
        assert (attempts, delivered) == (1, 1), (delivery_id, event_type)
        assert posted == entries, f"delivery {delivery_id}: an entry left recorded"
    assert sum(row[4] for row in rows_of) == len(sandbox.entries(company))
    info = Counter(
        entry["delivery"] for entry in logs
        if entry["log_level"] == "info" and entry["event"] in ("delivery.posted", "delivery.delivered")
    )  # fmt: skip
    tickets = {row[0] for row in rows_of if row[1] == "order.recorded"}
    assert tickets
    assert all(info[delivery_id] == 1 for delivery_id in tickets), "one info line per one-entry ticket"
