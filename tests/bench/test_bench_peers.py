"""The peers' task (bench/peers/peer_job.py) books a shop's events into the simulator, and posts again when run
again: the baselines have no dedup, which is what the comparison measures. The arq and procrastinate workers
themselves need the [bench] extra: their modules are imported only where it is installed."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import sys
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "peers"))  # not a package

from peer_http import Pennylane
from peer_job import NotYet, Shop, deliver

from outboxd.pennylane_simulator import Sandbox, run_sandbox
from outboxd.shop_simulator import simulate_shop

START = dt.date(dt.date.today().year, 1, 5)
"""In the simulator's open fiscal year."""


class MemoryIds:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str, str], str] = {}

    async def get(self, shop: str, kind: str, key: str) -> str | None:
        return self.values.get((shop, kind, key))

    async def put(self, shop: str, kind: str, key: str, value: str) -> None:
        self.values[(shop, kind, key)] = value


def _rows(events: int) -> list[dict[str, object]]:
    rows = []
    for n, row in enumerate(simulate_shop("s1", days=1, orders_per_day=20, registers=1, seed=3, start=START)):
        rows.append({**row, "id": n + 1, "payload": json.dumps(row["payload"])})
        if len(rows) == events:
            break
    return rows


async def test_the_peer_task_books_an_order_and_posts_it_again_when_retried() -> None:
    sandbox = Sandbox(rate_limit=None)
    async with run_sandbox(sandbox) as handle, aiohttp.ClientSession() as session:
        company = sandbox.add_company("Boutique").id
        shop = Shop(Pennylane(session, handle.api_url, sandbox.issue_api_token(company)))
        ids = MemoryIds()
        reference, *rest = _rows(40)
        order = next(row for row in rest if row["event_type"] == "order.recorded")
        with pytest.raises(NotYet):  # the shop's chart comes first
            await deliver(order, shop, ids)
        assert await deliver(reference, shop, ids) == 0
        assert await deliver(order, shop, ids) == 1
        pieces = Counter(str(entry.piece_number) for entry in sandbox.entries(company))
        assert list(pieces.values()) == [1]
        assert await deliver(order, Shop(shop.api), ids) == 1  # a retried job: no dedup look-up
        assert list(Counter(str(entry.piece_number) for entry in sandbox.entries(company)).values()) == [2]
        order_id = json.loads(str(order["payload"]))["order_id"]
        payment = next(r for r in rest if r["event_type"] == "payment.recorded" and order_id in str(r["payload"]))
        assert await deliver(payment, shop, ids) == 1  # credits the order's customer account, remembered in ids
        balance = sandbox.trial_balance(company).values()
        assert sum(debit for debit, _ in balance) == sum(credit for _, credit in balance) > 0


@pytest.mark.parametrize("module", ["peer_arq", "peer_procrastinate"])
def test_the_queue_workers_import_where_the_bench_extra_is_installed(module: str) -> None:
    pytest.importorskip("arq" if module == "peer_arq" else "procrastinate", reason="the [bench] extra is not installed")
    worker = importlib.import_module(module)
    assert worker.deliver_row is not None
