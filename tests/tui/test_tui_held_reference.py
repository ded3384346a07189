"""A failed reference snapshot holds its whole shop, and every place an operator looks says so: the real daemon
(in-process, real SQLite files), the simulator on loopback, the control API, ``outboxd ctl`` and the dashboard.

The snapshot lists a VAT rate the mapping lacks (2.1 %): it fails, the shop's later tickets wait (by design: they
may book on what it brings). The fix is the mapping, a restart and a retry; then everything is booked, exactly.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import pytest
from books import expected_books, folded
from real_daemon import VAT_RATES, Bench, bench, daemon_in_process, history, until
from textual.widgets import DataTable
from tui_session import settle, shown_text, shows

from outboxd.cli import ctl
from outboxd.cli import ctl_commands as shell
from outboxd.control.client import ControlClient
from tui.app import OutboxdApp

pytestmark = pytest.mark.timeout(60)


async def _ctl(b: Bench, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    parser = argparse.ArgumentParser()
    ctl.add_arguments(parser)
    assert await shell.dispatch(parser.parse_args(["--socket", str(b.socket), *argv]), ask=lambda _: "y") == 0
    return capsys.readouterr().out


async def test_a_failed_reference_holds_its_shop_visibly_until_the_mapping_is_fixed_and_it_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("tui.screens.overview.REFRESH_SECONDS", 0.2)
    rows = history("s1")
    async with bench(tmp_path) as b:
        b.write_config(vat_rates=[rate for rate in VAT_RATES if rate != "2.1"])
        async with daemon_in_process(b), ControlClient(b.socket, actor="t") as client:
            b.insert(rows)

            async def held() -> bool:
                return (await client.shop("s1"))["held_by_reference"] is not None

            await until(held, what="the shop held")
            s1 = await client.shop("s1")
            reference = s1["held_by_reference"]["id"]
            assert s1["held_by_reference"]["waiting"] == len(rows) - 1
            assert "2.1" in s1["held_by_reference"]["message"]
            assert s1["failed"] == 1
            assert s1["queue_depth"] == len(rows) - 1
            assert b.sandbox.entries(b.companies["s1"]) == []  # the tickets waited: none was booked
            (item,) = (await client.failed({"shop": "s1"}))["items"]
            assert (item["id"], item["event_type"], item["error_class"]) == (reference, "reference.updated", "booking")
            assert item["holds_shop"]
            detail = await client.delivery(reference)
            assert detail["holds_shop"]
            assert detail["blocked_total"] == len(rows) - 1
            assert detail["blocked"][:3] == [reference + 1, reference + 2, reference + 3]

            status = await _ctl(b, capsys, "status")
            assert f"s1: ✗ held: reference snapshot #{reference} failed, {len(rows) - 1} events wait" in status
            assert "✗ held" in next(line for line in status.splitlines() if line.startswith("s1 "))
            assert "✗ holds the shop: " in await _ctl(b, capsys, "failed")
            show = await _ctl(b, capsys, "show", str(reference))
            assert f"✗ holds the whole shop s1: {len(rows) - 1} events wait behind it (first: {reference + 1}," in show

            app = OutboxdApp(ControlClient(b.socket, actor="operator"))
            async with app.run_test(size=(80, 24)) as pilot:
                await settle(pilot)
                table = app.screen.query_one(DataTable)
                await shows(pilot, lambda: table.get_row("s1")[1] == "✗ held", what="held in the table")
                assert app.sub_title == "✗ held: s1"
                assert f"✗ held: reference snapshot #{reference} failed" in shown_text(app, "#shop-detail")
                await pilot.press("f")
                await settle(pilot)
                listing = app.screen.query_one(DataTable)
                assert str(listing.get_row_at(0)[-1]).startswith("✗ holds the shop: ")
                assert f"reference snapshot #{reference} holds every later event of s1" in shown_text(
                    app, "#failed-count"
                )
                await pilot.press("enter")
                await settle(pilot)
                assert shown_text(app, "#delivery-detail").splitlines()[3].startswith("✗ holds the whole shop s1: ")

        b.write_config()  # the operator adds 2.1 % to the mapping, restarts, retries the snapshot
        async with daemon_in_process(b) as daemon, ControlClient(b.socket, actor="t") as client:
            await _ctl(b, capsys, "retry", str(reference))

            async def all_delivered() -> bool:
                return (await client.shop("s1"))["delivered_today"] == len(rows)

            await until(all_delivered, what="every event delivered")
            s1 = await client.shop("s1")
            assert (s1["held_by_reference"], s1["failed"], s1["queue_depth"]) == (None, 0, 0)
            assert "held" not in await _ctl(b, capsys, "status")
            entries = b.sandbox.entries(b.companies["s1"])
            assert max(Counter(e.piece_number for e in entries).values()) == 1
            want = expected_books(rows, daemon.config.shop_mapping("s1"), "s1")  # the fixed mapping
            assert folded(b.sandbox.trial_balance(b.companies["s1"])) == want.balance
