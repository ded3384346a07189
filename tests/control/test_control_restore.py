"""docs/operations.md's restore procedure, run against the real daemon and the simulator: a state database restored
from a backup forgets the entries posted since, so the shops are paused before the daemon starts (with the SQL of
the doc, read from it), each shop is reconciled with Pennylane (``outboxd ctl reconcile``), then resumed: no entry
is booked twice, the events Pennylane never saw are booked once, and the trial balance is the rules engine's."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import sqlite3
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from bridge_setup import dispatch_pass
from daemon_bench import Bench, bench, until
from e2e.e2e_harness import assert_exact, expected

from outboxd.exceptions import BadRequest
from outboxd.money import format_cents
from outboxd.pennylane_simulator.model import Entry
from outboxd.shop_simulator import simulate_shop

pytestmark = pytest.mark.timeout(90)

DOC = Path(__file__).parents[2] / "docs" / "operations.md"
DOC_OUTBOX = "/var/lib/kashclick/outbox.sqlite3"


def _pause_sql(outbox: Path) -> str:
    """The heredoc of the doc fed to sqlite3 (pause every shop before the start), on this test's outbox."""
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


def _days_with_a_new_register() -> list[list[dict[str, Any]]]:
    """Three days of shop s1; register r2 opens on day 2 (a reference snapshot names it, its journal is created)."""
    start = dt.date.today() - dt.timedelta(days=3)
    rows = simulate_shop("s1", days=3, orders_per_day=4, registers=2, seed=7, start=start)
    days = [list(day) for _, day in itertools.groupby(rows, key=lambda r: r["occurred_at"][:10])]
    reference = days[0][0]
    assert reference["event_type"] == "reference.updated"
    registers = reference["payload"]["registers"]
    only_r1 = {**reference, "payload": {**reference["payload"], "registers": registers[:1]}}
    days[0] = [only_r1, *(r for r in days[0][1:] if r["payload"].get("register_id") != "r2")]
    with_r2 = {**reference, "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "r2-opens")),
               "occurred_at": days[1][0]["occurred_at"]}  # fmt: skip
    days[1] = [with_r2, *days[1]]
    return days


async def _ctl(b: Bench, since: str) -> str:
    """``outboxd ctl reconcile s1 --since SINCE`` as a person types it (the console script); what it prints."""
    ctl = await asyncio.create_subprocess_exec(
        Path(sys.executable).parent / "outboxd", "ctl", "--socket", str(b.client.socket_path), "reconcile", "s1",
        "--since", since, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(ctl.communicate(), 30)
    assert ctl.returncode == 0, err.decode()
    return out.decode()


async def test_restore_then_reconcile_books_nothing_twice(tmp_path: Path) -> None:
    state, backup = tmp_path / "state.sqlite3", tmp_path / "backup.sqlite3"
    days = _days_with_a_new_register()
    rows = [row for day in days for row in day]
    day2 = days[1][1]["occurred_at"][:10]
    async with bench(tmp_path) as b:
        with pytest.raises(BadRequest, match=r"not paused: pause it first \(`outboxd ctl pause s1`\)"):
            await b.client.reconcile("s1")
        b.insert(days[0])
        await until(lambda: _delivered(b, len(days[0])), what="day 1 delivered")
        with sqlite3.connect(state) as conn:  # the online backup of the doc
            conn.execute("VACUUM INTO ?", (str(backup),))
        at_backup = _pieces(b)
        b.insert(days[1])
        await until(lambda: _delivered(b, len(days[0]) + len(days[1])), what="day 2 delivered")
        since_backup = _pieces(b) - at_backup
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
        assert b.daemon is not None
        await dispatch_pass(b.daemon, "s1")
        assert not b.daemon.lanes["s1"].in_flight  # the pass claimed nothing
        assert (await b.client.shop("s1"))["paused"]
        assert _pieces(b) == at_backup + since_backup  # paused: nothing posted again

        await b.client.pause("s2", "restored")
        with pytest.raises(BadRequest, match=r"s2 is not connected to Pennylane: connect it first"):
            await b.client.reconcile("s2")

        # The backup's day is today, but these events are dated before it (late events, a backfill do that):
        # a reconcile from today sees none of their entries, and says so.
        today = await _ctl(b, since=dt.date.today().isoformat())
        assert f"before resuming, reconcile again with --since {day2}" in today
        assert "0 entries dated" in today

        with sqlite3.connect(state) as conn:  # r2's journal came after the backup: its id is not cached
            assert [r[0] for r in conn.execute("SELECT register_id FROM journals WHERE shop_id = 's1'")] == ["r1"]
        assert any(piece.endswith("-r2") for piece in since_backup)
        answer = await b.client.reconcile("s1")  # from the oldest open delivery's date: day 2
        assert (answer["since"], answer["not_covered"], answer["duplicates"]) == (day2, None, [])
        assert answer["journals"] == len(b.sandbox.company(b.companies["s1"]).journals)
        assert (answer["recorded"], answer["confirmed"], answer["known"]) == (len(since_backup), 0, 0)
        assert answer["entries"] == len(since_backup)
        with sqlite3.connect(state) as conn:  # a waiting day-2 ticket of r2: its entry is found, and is its own
            (ticket,) = conn.execute("SELECT id FROM deliveries WHERE shop_id = 's1' AND state = 'pending' AND "
                                     "event_type = 'order.recorded' AND business_date = ? AND payload LIKE '%\"r2\"%' "
                                     "LIMIT 1", (day2,)).fetchone()  # fmt: skip
        assert [e["state"] for e in (await b.client.delivery(ticket))["entries"]] == ["posted"]
        again = await _ctl(b, since=day2)
        assert f"0 recorded as posted now, 0 unsettled found posted, {len(since_backup)} already known" in again
        assert "✓ every open delivery is covered: `outboxd ctl resume s1`" in again
        audit = (await b.client.audit("s1", 3))["items"]
        assert [i["action"] for i in audit[:3]] == ["shop.reconcile"] * 3
        assert audit[1]["detail"]["recorded"] == len(since_backup)

        await b.client.resume("s1")
        await until(lambda: _depth(b, 0), what="the events since the backup delivered")
        assert_exact(b.sandbox, b.companies["s1"], expected(rows, b.config, "s1"))


async def test_reconcile_names_the_pieces_pennylane_holds_twice(tmp_path: Path) -> None:
    """An entry already booked twice (before the reconcile) is named, recorded once; bad dates are refused."""
    rows = list(simulate_shop("s1", days=1, orders_per_day=3, registers=1, seed=3, start=dt.date.today()))
    async with bench(tmp_path) as b:
        b.insert(rows)
        await until(lambda: _delivered(b, len(rows)), what="the day delivered")
        await b.client.pause("s1", "checking")
        with pytest.raises(BadRequest, match="since: '2026-13-01' is not a date"):
            await b.client.reconcile("s1", "2026-13-01")
        twice = next(e for e in b.sandbox.entries(b.companies["s1"]) if e.piece_number)
        await _post_again(b, twice)
        answer = await b.client.reconcile("s1", dt.date.today().isoformat())
        pieces = _pieces(b)
        assert answer["duplicates"] == [twice.piece_number]
        assert (answer["entries"], answer["recorded"], answer["known"]) == (sum(pieces.values()), 0, len(pieces))
        text = await _ctl(b, since=dt.date.today().isoformat())
        assert f"! booked more than once in Pennylane already: {twice.piece_number}" in text


async def _post_again(b: Bench, entry: Entry) -> None:
    """A second POST of an entry (same piece number) through the simulator's API, as a duplicate would be made."""
    lines = [{"debit": format_cents(line.debit), "credit": format_cents(line.credit),
              "ledger_account_id": line.ledger_account_id} for line in entry.lines]  # fmt: skip
    body = {"date": entry.date, "label": entry.label, "journal_id": entry.journal_id,
            "piece_number": entry.piece_number, "ledger_entry_lines": lines}  # fmt: skip
    headers = {"Authorization": f"Bearer {b.token_file.read_text()}", "X-Use-2026-API-Changes": "true"}
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{b.handle.api_url}/ledger_entries", json=body, headers=headers)
        assert response.status == 201, await response.text()
