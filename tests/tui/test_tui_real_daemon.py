"""The dashboard driven by Textual's pilot against the REAL daemon (in-process, ``DaemonControl``, real SQLite
files) and the simulator on loopback: what the operator sees is what the daemon and Pennylane hold.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from peer import audited
from real_daemon import Real, bench, daemon_in_process, history, real_world
from textual import events
from textual.widgets import DataTable
from tui_session import settle, shown_text, shows

from outboxd.control.client import ControlClient
from outboxd.demo.tickets import poison_ticket
from outboxd.exceptions import BadRequest
from tui.app import OutboxdApp
from tui.modals import ConfirmModal, ReasonModal

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def real(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Real]:
    monkeypatch.setattr("tui.screens.overview.REFRESH_SECONDS", 0.2)  # live, as in production but faster
    monkeypatch.setattr("tui.screens.failed.REFRESH_SECONDS", 0.2)
    async with real_world(tmp_path) as world:
        yield world


async def test_overview_counters_move_pause_resume_and_mapping(real: Real) -> None:
    app = real.operator_app()
    rows = history("s1")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert table.get_row("s1")[:3] == ["s1", "▶ on", "✓ connected"]
        assert table.get_row("s2")[2] == "- disconnected"
        assert "Paris 1" in shown_text(app, "#shop-detail")
        assert "✓ connected, Boulangerie Martin, API token" in shown_text(app, "#shop-detail")

        with pytest.raises(BadRequest, match="a reason is required"):  # the daemon refuses it too, not only the form
            await real.client.pause("s1", "  ")
        assert not real.daemon.lanes["s1"].paused
        await pilot.press("p", *"count first", "enter")
        await shows(pilot, lambda: table.get_row("s1")[1] == "⏸ paused", what="paused")
        assert real.daemon.lanes["s1"].paused
        assert app.sub_title == "⏸ paused: s1"
        assert "⏸ paused: count first" in shown_text(app, "#shop-detail")
        real.bench.insert(rows)
        await shows(pilot, lambda: table.get_row("s1")[3] == len(rows), what="the queue filled")
        assert table.get_row("s1")[5] == 0

        await pilot.press("p")  # resume: no question asked
        await shows(pilot, lambda: table.get_row("s1")[5] == len(rows), what="delivered today")
        assert table.get_row("s1")[1] == "▶ on"
        assert table.get_row("s1")[3] == 0
        assert sum(app.screen.query_one("Sparkline").data) == len(rows)  # type: ignore[attr-defined]
        actions = [a["action"] for a in (await real.client.audit("s1"))["items"]]
        assert actions[:2] == ["shop.resume", "shop.pause"]

        await pilot.press("m")
        await settle(pilot)
        assert type(app.screen).__name__ == "MappingScreen"
        journals = app.screen.query_one("#journals", DataTable)
        assert journals.row_count == 2
        assert all(journals.get_row_at(i)[2] == "✓ yes" for i in range(2))
        accounts = app.screen.query_one("#accounts", DataTable)
        mapping = await real.client.mapping("s1")
        shown = {accounts.get_row_at(i)[2]: accounts.get_row_at(i)[3] for i in range(accounts.row_count)}
        assert shown == {a["number"]: "✓ yes" if a["exists"] else "… on first use" for a in mapping["accounts"]}
        assert {"✓ yes", "… on first use"} <= set(shown.values())


async def test_connect_by_oauth_pasting_the_redirect_url_then_backfill_the_held_history(real: Real) -> None:
    rows = history("s2")
    real.bench.insert(rows)  # waits: s2 is not connected
    held = [r for r in rows if r["event_type"] != "reference.updated"]  # references flow at once: not history
    app = real.operator_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "c")
        await settle(pilot)
        assert "- disconnected" in shown_text(app, "#connection")
        await pilot.press("s")
        await shows(pilot, lambda: "Open in a browser" in shown_text(app, "#url"), what="the authorize URL")
        url = next(w for w in shown_text(app, "#url").split() if w.startswith(real.bench.handle.authorize_url))
        redirect = real.bench.sandbox.approve(url, real.bench.companies["s2"])  # the person clicks Authorize
        app.screen.post_message(events.Paste(redirect))  # as a terminal pastes: no field needs the focus
        await shows(pilot, lambda: "company: Cave Durand" in shown_text(app, "#connection"), what="connected")
        connection = shown_text(app, "#connection")
        assert "✓ connected, Cave Durand, expires in" in connection
        for scope in real.daemon.config.pennylane.scopes:
            assert scope in connection
        assert "missing scopes" not in connection

        await pilot.press("b")  # the connect left the URL field: b is the backfill offer
        await settle(pilot)
        assert type(app.screen).__name__ == "BackfillScreen"
        year_start = f"{dt.date.today().year}-01-01"
        await shows(pilot, lambda: "events" in shown_text(app, "#estimate-summary"), what="the estimate")
        assert f"(default: {year_start}, fiscal year start)" in shown_text(app, "#estimate-summary")
        first = min(r["occurred_at"][:10] for r in held)
        if first < year_start:  # early January: the history starts last year, edit the date
            await pilot.press("e", "ctrl+a", "ctrl+k", *first, "enter")
        await shows(pilot, lambda: f": {len(held)} events" in shown_text(app, "#estimate-summary"), what="all of it")
        await pilot.press("s")
        await shows(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the confirmation")
        await pilot.press("y")
        await shows(pilot, lambda: "✓ done" in shown_text(app, "#progress-text"), what="backfill done")
        assert f"{len(held)}/{len(held)} events" in shown_text(app, "#progress-text")
    pieces = {e.piece_number for e in real.bench.sandbox.entries(real.bench.companies["s2"])}
    tickets = [r["payload"]["number"] for r in held if r["event_type"] == "order.recorded"]
    assert tickets
    assert all(any(p.startswith(t) for p in pieces) for t in tickets)  # each ticket of the history in Pennylane


async def test_connect_through_the_callback_listener_is_noticed_then_disconnect(real: Real) -> None:
    app = real.operator_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_connect("s2")
        await settle(pilot)
        await pilot.press("s")
        await shows(pilot, lambda: "pending" in shown_text(app, "#connection"), what="pending")
        url = next(w for w in shown_text(app, "#url").split() if w.startswith(real.bench.handle.authorize_url))
        redirect = real.bench.sandbox.approve(url, real.bench.companies["s2"])
        async with aiohttp.ClientSession() as http, http.get(redirect) as page:  # the browser, through ssh -L
            assert page.status == 200
        await shows(pilot, lambda: "company: Cave Durand" in shown_text(app, "#connection"), what="noticed")
        await pilot.press("d")  # the connect left the URL field: keys act on the screen
        await shows(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the confirmation")
        await pilot.press("y")
        await shows(pilot, lambda: "- disconnected" in shown_text(app, "#connection"), what="disconnected")
    assert (await real.client.shop("s2"))["connection"]["state"] == "disconnected"


async def test_failed_poison_retry_is_a_new_attempt_discard_unblocks_its_payment(real: Real) -> None:
    rows = history("s1", days=1)
    real.bench.insert(rows[:4] + poison_ticket("s1", dt.date.today() - dt.timedelta(days=1)) + rows[4:])
    app = real.operator_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        await shows(pilot, lambda: table.get_row("s1")[6] == "✗ 1", what="one failed on the overview")
        await pilot.press("f")
        await settle(pilot)
        failed = app.screen.query_one("#failed", DataTable)
        await shows(pilot, lambda: failed.row_count == 1, what="the failed row")
        (delivery_id, shop, event, error_class, status, _, message) = failed.get_row_at(0)
        assert (shop, event, error_class, status) == ("s1", "order.recorded", "booking", "not sent")
        assert "8.5" in message

        await pilot.press("R")  # bulk: the count first, nothing without y
        await shows(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the bulk confirmation")
        assert "Retry 1 failed delivery?\n(shop=s1)" in shown_text(app, "#question")
        await pilot.press("n")
        await settle(pilot)

        await pilot.press("enter")
        await shows(pilot, lambda: "payload" in shown_text(app, "#delivery-detail"), what="the detail")
        detail = shown_text(app, "#delivery-detail")
        assert '"vat_rate": "8.5"' in detail
        assert "(1 attempt)" in detail
        assert "⏸ 1 event waits behind it:" in detail

        await pilot.press("r")  # retry: back to the list; it fails again, a second attempt
        await settle(pilot)

        async def tried_twice() -> bool:
            return len((await real.client.delivery(delivery_id))["attempts"]) == 2

        deadline = time.monotonic() + 20
        while not await tried_twice():
            assert time.monotonic() < deadline, "no second attempt"
            await pilot.pause(0.05)
        await shows(pilot, lambda: failed.row_count == 1, what="the poison listed again")
        await pilot.press("enter")
        await shows(pilot, lambda: "(2 attempts)" in shown_text(app, "#delivery-detail"), what="two attempts")

        await pilot.press("d")
        await shows(pilot, lambda: isinstance(app.screen, ReasonModal), what="the reason")
        await pilot.press("enter")  # empty: refused
        assert isinstance(app.screen, ReasonModal)
        await pilot.press(*"booked by hand", "enter")
        await settle(pilot)
        # the payment behind it runs now (and fails: its ticket was never booked)
        await shows(pilot, lambda: failed.row_count == 1 and failed.get_row_at(0)[2] == "payment.recorded",
                    what="the unblocked payment")  # fmt: skip
    assert (await real.client.delivery(delivery_id))["state"] == "discarded"
    audit = (await real.client.audit("s1"))["items"]
    assert audit[0]["action"] == "delivery.discard"
    assert audit[0]["actor"] == audited("operator")
    assert audit[0]["detail"]["reason"] == "booked by hand"


async def test_the_daemon_down_then_up_then_down_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tui.screens.overview.REFRESH_SECONDS", 0.2)
    async with bench(tmp_path) as b:
        app = OutboxdApp(ControlClient(b.socket, actor="operator"))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert type(app.screen).__name__ == "DaemonDownScreen"
            assert "outboxd run" in shown_text(app, "#daemon-down")
            async with daemon_in_process(b):
                await pilot.press("r")
                await shows(pilot, lambda: type(app.screen).__name__ == "OverviewScreen", what="the overview")
                await shows(pilot, lambda: app.screen.query_one(DataTable).row_count == 2, what="two shops")
            await shows(pilot, lambda: type(app.screen).__name__ == "DaemonDownScreen", what="daemon gone")
            async with daemon_in_process(b):  # a restart (the demo's, after a mapping fix) is noticed without r
                await shows(pilot, lambda: type(app.screen).__name__ == "OverviewScreen", what="the overview again")
