"""The status on the real daemon: one page of the shops (by shop id), a search on id or name, the totals of every
shop; limit and offset are checked like every listing's."""

from __future__ import annotations

from pathlib import Path

import pytest
from daemon_bench import bench, history, until

from outboxd.control.client import ControlClient
from outboxd.exceptions import BadRequest

pytestmark = pytest.mark.timeout(90)

SEEN = [f"t-{n:02d}" for n in range(12)]
"""Shops seen in the outbox only: no section in the configuration, not connected (their events wait)."""


async def test_status_pages_searches_and_totals_every_shop(tmp_path: Path) -> None:
    async with bench(tmp_path) as b:
        rows = [row for shop in SEEN for row in history(shop, days=1)]
        b.insert(rows)
        await until(lambda: _known(b.client, len(SEEN) + 2), what="every shop seen")

        first = await b.client.status(limit=5)
        assert [s["shop_id"] for s in first["shops"]] == ["s1", "s2", "t-00", "t-01", "t-02"]
        assert first["totals"]["shops"] == first["totals"]["matched"] == len(SEEN) + 2
        assert first["totals"]["queue_depth"] >= len(rows)  # every unconnected shop's event still waits
        last = await b.client.status(limit=5, offset=10)
        assert [s["shop_id"] for s in last["shops"]] == ["t-08", "t-09", "t-10", "t-11"]
        assert (last["offset"], last["limit"]) == (10, 5)

        found = await b.client.status(search="T-1")
        assert [s["shop_id"] for s in found["shops"]] == ["t-10", "t-11"]
        assert (found["totals"]["matched"], found["totals"]["shops"]) == (2, len(SEEN) + 2)
        by_name = await b.client.status(search="paris")  # s1's name in the configuration
        assert [s["shop_id"] for s in by_name["shops"]] == ["s1"]
        assert (await b.client.status(search="nowhere"))["shops"] == []

        await b.client.pause("t-03", "a test")
        assert (await b.client.status(search="t-11"))["totals"]["paused"] == 1  # counted off the page too


@pytest.mark.parametrize(
    ("limit", "offset", "says"),
    [(0, 0, "limit must be between 1 and 1000"), (1001, 0, "limit must be between 1 and 1000"),
     (10, -1, "offset must not be negative")],
)  # fmt: skip
async def test_status_refuses_a_limit_or_offset_out_of_range(
    tmp_path: Path, limit: int, offset: int, says: str
) -> None:
    async with bench(tmp_path) as b:
        with pytest.raises(BadRequest, match=says):
            await b.client.status(limit=limit, offset=offset)


async def _known(client: ControlClient, n: int) -> bool:
    return (await client.status(limit=1))["totals"]["shops"] >= n
