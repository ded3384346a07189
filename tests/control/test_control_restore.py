"""docs/operations.md's restore procedure, run against the real daemon and the simulator: a state database restored
from a backup forgets the entries posted since, so the shops are paused before the daemon starts (with the SQL of
the doc, read from it), the events since the backup are reconciled with Pennylane's piece numbers, and only then
delivered: no entry is booked twice, and the events Pennylane never saw are booked once."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from daemon_bench import Bench, bench, history, until

pytestmark = pytest.mark.timeout(90)

DOC = Path(__file__).parents[2] / "docs" / "operations.md"
DOC_OUTBOX = "/var/lib/kashclick/outbox.sqlite3"


def _pause_sql(outbox: Path) -> str:
    """Step 1 of the doc: the heredoc fed to sqlite3, on this test's outbox."""
    text = DOC.read_text()
    start = text.index("<<'SQL'\n") + len("<<'SQL'\n")
    return text[start : text.index("\nSQL\n", start)].replace(DOC_OUTBOX, str(outbox))


def _pieces(b: Bench) -> Counter[str]:
    return Counter(str(e.piece_number) for e in b.sandbox.entries(b.companies["s1"]))


async def _depth(b: Bench, n: int) -> bool:
    return bool((await b.client.shop("s1"))["queue_depth"] == n)


async def _delivered(b: Bench, n: int) -> bool:
    shop = await b.client.shop("s1")
    return bool(shop["queue_depth"] == 0 and shop["delivered_today"] == n)


async def test_the_documented_restore_books_nothing_twice(tmp_path: Path) -> None:
    state, backup = tmp_path / "state.sqlite3", tmp_path / "backup.sqlite3"
    days = [list(rows) for _, rows in itertools.groupby(history("s1", days=3), key=lambda r: r["occurred_at"][:10])]
    async with bench(tmp_path) as b:
        b.insert(days[0])
        await until(lambda: _delivered(b, len(days[0])), what="day 1 delivered")
        with sqlite3.connect(state) as conn:  # the online backup of the doc
            conn.execute("VACUUM INTO ?", (str(backup),))
        at_backup = _pieces(b)
        b.insert(days[1])
        await until(lambda: _delivered(b, len(days[0]) + len(days[1])), what="day 2 delivered")
        since_backup = _pieces(b) - at_backup  # what the Pennylane export by creation date shows
        assert since_backup
        await b.stop()
        b.insert(days[2])  # while the daemon is down: Pennylane never saw these

        for suffix in ("-wal", "-shm"):
            state.with_name(state.name + suffix).unlink(missing_ok=True)
        backup.replace(state)
        with sqlite3.connect(state) as conn:
            conn.executescript(_pause_sql(b.outbox))
        await b.start()
        await until(lambda: _depth(b, len(days[1]) + len(days[2])), what="the events since the backup ingested")
        await asyncio.sleep(0.3)
        assert (await b.client.shop("s1"))["paused"]
        assert _pieces(b) == at_backup + since_backup  # paused: nothing posted again

        with sqlite3.connect(state) as conn:  # step 2
            waiting = [r[0] for r in conn.execute(
                "SELECT id, event_type, aggregate_id, business_date FROM deliveries WHERE shop_id = 's1' "
                "AND state IN ('pending', 'failed') ORDER BY id"
            )]  # fmt: skip
        kept: list[str] = []
        for delivery_id in waiting:  # steps 3 and 4
            pieces = [e["piece_number"] for e in (await b.client.delivery(delivery_id))["entries"]]
            if pieces and all(p in since_backup for p in pieces):
                await b.client.discard(delivery_id, "posted before the state restore")
            else:
                assert not any(p in since_backup for p in pieces), "no delivery was cut in the middle here"
                kept.extend(pieces)
        assert kept

        await b.client.resume("s1")  # step 5
        await until(lambda: _depth(b, 0), what="the kept events delivered")
        after = _pieces(b)
        assert max(after.values()) == 1, "an entry was booked twice"
        assert after == at_backup + since_backup + Counter(kept)
