"""Connect, backfill, mapping, help, the palette and the missing daemon, driven like a session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from peer import audited
from textual import events
from textual.widgets import DataTable, Input, ProgressBar
from tui_session import ServedDaemon, settle, shown_text

from outboxd.control.client import ControlClient
from tui.app import OutboxdApp
from tui.messages import EstimateLoaded
from tui.modals import ConfirmModal

OPERATOR = audited("operator")
"""The audit actor of the test client: this process's login, operator as declared."""


async def test_connect_by_pasting_the_redirect_url_then_backfill(
    make_app: Callable[[], OutboxdApp], served: ServedDaemon
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "c")
        await settle(pilot)
        assert "✗ reconnect needed" in shown_text(app, "#connection")
        await pilot.press("s")
        await settle(pilot)
        assert "https://app.pennylane.com/oauth/authorize?client_id=kc&state=st-lyon-02" in shown_text(app, "#url")
        url = "http://127.0.0.1:8765/oauth/callback?code=c&state=st-lyon-02"
        app.screen.post_message(events.Paste(url))  # as a terminal pastes: no field needs the focus first
        await settle(pilot)
        assert served.daemon.called("connect_complete") == [
            {"shop_id": "lyon-02", "actor": OPERATOR, "redirect_url": url}
        ]
        assert "company: Boulangerie Martin SAS" in shown_text(app, "#connection")
        assert "authorize URL is used up" in shown_text(app, "#url")  # the old URL is gone
        assert "oauth/authorize" not in shown_text(app, "#url")
        await pilot.press("b")
        await settle(pilot)
        assert type(app.screen).__name__ == "BackfillScreen"


async def test_connect_completed_by_the_callback_listener_is_noticed(
    make_app: Callable[[], OutboxdApp], served: ServedDaemon
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_connect("paris-01")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert "pending" in shown_text(app, "#connection")
        served.daemon.complete_via_callback("paris-01")
        await pilot.pause(1.3)  # one poll
        await settle(pilot)
        assert "scopes: accounting, ledger, journals:all" in shown_text(app, "#connection")
        assert served.daemon.called("connect_complete") == []


async def test_missing_scopes_are_warned_and_disconnect_confirms(
    make_app: Callable[[], OutboxdApp], served: ServedDaemon
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_connect("paris-01")
        await settle(pilot)
        assert "⚠ missing scopes: journals:all" in shown_text(app, "#connection")
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
        assert served.daemon.called("disconnect") == [{"shop_id": "paris-01", "actor": OPERATOR}]
        assert "- disconnected" in shown_text(app, "#connection")


async def test_token_file_instead_of_oauth(make_app: Callable[[], OutboxdApp], served: ServedDaemon) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_connect("lyon-02")
        await settle(pilot)
        await pilot.press("t", *"/k/t", "enter")
        await settle(pilot)
        assert served.daemon.called("connect_token") == [
            {"shop_id": "lyon-02", "actor": OPERATOR, "token_file": "/k/t"}
        ]
        assert "API token" in shown_text(app, "#connection")


async def test_backfill_estimates_starts_pauses_cancels(
    make_app: Callable[[], OutboxdApp], served: ServedDaemon
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_backfill("paris-01")
        await settle(pilot)
        assert "4200 events" in shown_text(app, "#estimate-summary")
        table = app.screen.query_one("#estimate", DataTable)
        assert [table.get_row_at(i)[1] for i in range(2)] == [4200, 560]
        await pilot.press("m", "s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert "in daily mode" in app.screen.question
        await pilot.press("y")
        await settle(pilot)
        assert served.daemon.called("backfill_start") == [
            {"shop_id": "paris-01", "actor": OPERATOR, "start_date": "2025-01-01", "mode": "daily"}
        ]
        assert app.screen.query_one(ProgressBar).progress == 1050
        assert "▶ running: 1050/4200" in shown_text(app, "#progress-text")
        await pilot.press("p")
        await settle(pilot)
        assert "⏸ paused" in shown_text(app, "#progress-text")
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("x", "y")
        await settle(pilot)
        assert [name for name, _ in served.daemon.calls if name.startswith("backfill_")] == [
            "backfill_start",
            "backfill_pause",
            "backfill_resume",
            "backfill_cancel",
        ]


async def test_backfill_start_date_is_editable(make_app: Callable[[], OutboxdApp], served: ServedDaemon) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_backfill("paris-01")
        await settle(pilot)
        await pilot.press("e", *["backspace"] * 10, *"2023-06-01", "enter")
        await settle(pilot)
        assert "✗ refused: closed fiscal year" in shown_text(app, "#estimate-summary")
        await pilot.press("s")
        await settle(pilot)
        assert served.daemon.called("backfill_start") == []


async def test_editing_the_start_date_says_so_until_enter(
    make_app: Callable[[], OutboxdApp], served: ServedDaemon
) -> None:
    """The field's focus shows in words (the operator, and tmux tests, type the date once it is there)."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_backfill("paris-01")
        await settle(pilot)
        assert "m: switch" in shown_text(app, "#mode")
        await pilot.press("e")
        await settle(pilot)
        assert "editing the start date" in shown_text(app, "#mode")
        await pilot.press("ctrl+a", "ctrl+k", *"2024-02-01", "enter")
        await settle(pilot)
        assert "m: switch" in shown_text(app, "#mode")
        assert "from 2024-02-01" in shown_text(app, "#estimate-summary")


async def test_a_late_estimate_never_rewrites_the_date_being_typed(
    make_app: Callable[[], OutboxdApp], served: ServedDaemon
) -> None:
    """The first estimate (the default date) may come back after the operator cleared the field to type."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_backfill("paris-01")
        await settle(pilot)
        screen = app.screen
        default = screen.estimate
        assert default is not None
        await pilot.press("e", "ctrl+a", "ctrl+k")
        await settle(pilot)
        screen.post_message(EstimateLoaded(default))  # the default's answer, late
        await settle(pilot)
        await pilot.press(*"2024-02-01", "enter")
        await settle(pilot)
        assert "from 2024-02-01" in shown_text(app, "#estimate-summary")


async def test_mapping_says_what_is_missing(make_app: Callable[[], OutboxdApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        journals = app.screen.query_one("#journals", DataTable)
        assert journals.get_row_at(1)[1:] == ["VT2", "… on first use"]
        accounts = app.screen.query_one("#accounts", DataTable)
        assert accounts.get_row_at(0)[2:] == ["70110000", "✓ yes", "Ventes 5,5 %"]


async def test_help_and_palette(make_app: Callable[[], OutboxdApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"mapping lyon", "enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "MappingScreen"
        assert app.screen.shop_id == "lyon-02"  # type: ignore[attr-defined]


async def test_a_missing_daemon_is_a_full_screen_message_with_retry(socket_dir_tui: Path, served: ServedDaemon) -> None:
    app = OutboxdApp(ControlClient(socket_dir_tui / "none.sock", actor="operator"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert type(app.screen).__name__ == "DaemonDownScreen"
        assert "the daemon is not running (no socket at" in shown_text(app, "#daemon-down")
        assert "systemctl start outboxd" in shown_text(app, "#daemon-down")
        await pilot.press("r")
        await settle(pilot)
        assert "still not running" in shown_text(app, "#daemon-down")
        app.client.socket_path = served.socket_path  # the daemon was started
        await pilot.press("r")
        await settle(pilot)
        assert type(app.screen).__name__ == "OverviewScreen"


async def test_y_copies_the_authorize_url_at_once_and_o_y_say_when_there_is_none(
    make_app: Callable[[], OutboxdApp], served: ServedDaemon
) -> None:
    """No field takes the focus after ``s``: y copies the URL (OSC 52) at once; before ``s``, y and o say why not."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_connect("lyon-02")
        await settle(pilot)
        await pilot.press("y", "o")
        await settle(pilot)
        said = [n.message for n in app._notifications]
        assert said.count("no authorize URL yet: s starts OAuth") == 2
        await pilot.press("s")
        await settle(pilot)
        assert "(y: copy, o: open here)" in shown_text(app, "#url")
        assert (
            "https://app.pennylane.com/oauth/authorize?client_id=kc&state=st-lyon-02"
            in shown_text(app, "#url").splitlines()
        )
        await pilot.press("y")
        await settle(pilot)
        assert app.clipboard == "https://app.pennylane.com/oauth/authorize?client_id=kc&state=st-lyon-02"
        assert app.screen.query_one("#redirect-url", Input).value == ""
