"""The overview: what a session sees first, and its keys."""

from __future__ import annotations

from collections.abc import Callable

from peer import audited
from textual.widgets import DataTable, Sparkline
from textual.widgets._toast import Toast
from tui_session import ServedDaemon, settle, shown_text

from tui.app import OutboxdApp
from tui.screens.help import HelpScreen, help_text

OPERATOR = audited("operator")
"""The audit actor of the test client: this process's login, operator as declared."""


async def test_overview_lists_shops_with_words_not_only_colours(make_app: Callable[[], OutboxdApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 2
        assert table.get_row("lyon-02")[1] == "⏸ paused"
        assert table.get_row("lyon-02")[2] == "✗ reconnect needed"
        assert app.sub_title == "⏸ paused: lyon-02"
        detail = shown_text(app, "#shop-detail")
        assert "Boulangerie Martin SAS" in detail
        assert "expires in 20d0h" in detail
        assert "⚠ missing scopes: journals:all" in detail
        assert app.screen.query_one(Sparkline).data == [i % 7 + 3 for i in range(30)]


async def test_space_freezes_live_refresh(make_app: Callable[[], OutboxdApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("space")
        assert "frozen" in shown_text(app, "#live-state")
        await pilot.press("space")
        assert "live" in shown_text(app, "#live-state")


async def test_p_pauses_the_selected_shop_with_a_reason(
    make_app: Callable[[], OutboxdApp], served: ServedDaemon
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await pilot.press(*"month end", "enter")
        await settle(pilot)
        assert served.daemon.called("pause") == [{"shop_id": "paris-01", "actor": OPERATOR, "reason": "month end"}]
        await pilot.press("down", "p")
        await settle(pilot)
        assert served.daemon.called("resume") == [{"shop_id": "lyon-02", "actor": OPERATOR}]


async def test_pause_refuses_an_empty_reason(make_app: Callable[[], OutboxdApp], served: ServedDaemon) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("p", "enter", "space", "enter")  # empty, then blank: both refused, the question stays
        await settle(pilot)
        assert "a reason is required" in shown_text(app, "#reason-error")
        assert served.daemon.called("pause") == []
        await pilot.press("escape")
        await settle(pilot)
        assert served.daemon.called("pause") == []


async def test_outbox_data_is_text_never_markup_nor_escapes(
    make_app: Callable[[], OutboxdApp], served: ServedDaemon
) -> None:
    """A shop id ``shop[/]`` (a closing tag with nothing open: MarkupError) and a name with an escape sequence and a
    bidi mark show as written, escaped characters as ``\\u001b``, everywhere the overview puts them."""
    hostile = "shop[/]"
    served.daemon.shops = {hostile: {**served.daemon.shops["paris-01"], "shop_id": hostile,
                                     "name": "[b]Bad\x1b[2J\u202e", "pause_reason": "[/i]"}}  # fmt: skip
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 1
        detail = shown_text(app, "#shop-detail")
        assert detail.startswith("[b]Bad\\u001b[2J\\u202e (shop[/])")
        assert not {"\x1b", "\u202e"} & set(detail)
        await pilot.press("p")
        await settle(pilot)
        assert "Pause shop[/]: why?" in shown_text(app, "#question")


async def test_the_z_line_says_how_many_closings_were_checked(
    make_app: Callable[[], OutboxdApp], served: ServedDaemon
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "✗ Z mismatch: 1 of 1 closing since " in shown_text(app, "#shop-detail")
        await pilot.press("down")
        await settle(pilot)
        detail = shown_text(app, "#shop-detail")
        assert "Z control: no closing delivered since " in detail
        assert "none checked yet" in detail
        assert "match" not in detail


async def test_the_palette_opens_a_delivery_by_its_id(make_app: Callable[[], OutboxdApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"delivery 2")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "DeliveryScreen"
        assert shown_text(app, "#delivery-detail").startswith("delivery 2 (failed)")


async def test_help_names_the_configuration_file_and_the_real_callback_port(
    make_app: Callable[[], OutboxdApp], served: ServedDaemon
) -> None:
    served.daemon.redirect_uri = "http://127.0.0.1:40899/oauth/callback"
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = help_text(app.screen.daemon)  # what the screen's Markdown was given, from the status the app read
        assert "/etc/outboxd/outboxd.toml" in text
        assert "ssh -L 40899:127.0.0.1:40899" in text
        assert "8765" not in text


async def test_a_notification_leaves_the_z_line_visible(make_app: Callable[[], OutboxdApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        app.notify("⏸ paris-01 paused, and a message long enough to take two lines of the toast")
        await settle(pilot)
        (toast,) = app.screen.query(Toast)
        assert toast.region.height > 0
        detail = app.screen.query_one("#detail").region
        assert toast.region.bottom <= detail.y, (toast.region, detail)
