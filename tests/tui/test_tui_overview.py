"""The overview: what a session sees first, and its keys."""

from __future__ import annotations

from collections.abc import Callable

from peer import audited
from textual.widgets import DataTable, Sparkline
from tui_session import ServedDaemon, settle, shown_text

from tui.app import OutboxdApp

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
