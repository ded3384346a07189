"""The overview with many shops: one page at a time ([ and ] turn pages), a search box (/), the totals of every shop."""

from __future__ import annotations

import copy
from collections.abc import Callable

from textual.widgets import DataTable, Input
from tui_session import ServedDaemon, settle, shown_text

from tui.app import OutboxdApp
from tui.screens.overview import PAGE

MANY = 2 * PAGE + 20


def _many_shops(served: ServedDaemon) -> list[str]:
    """``MANY`` more shops beside the double's two, as an operator with a few hundred shops sees them."""
    shops = served.daemon.shops
    for n in range(MANY):
        shop = copy.deepcopy(shops["paris-01"])
        shop["shop_id"] = f"shop-{n:03d}"
        shops[shop["shop_id"]] = shop
    return list(shops)


def _keys(app: OutboxdApp) -> dict[str, str]:
    """The footer's keys: key -> description, for the bindings shown now."""
    bindings = app.screen.active_bindings.values()
    return {b.binding.key: b.binding.description for b in bindings if b.binding.show and b.enabled}


async def test_pages_turn_with_the_bracket_keys(make_app: Callable[[], OutboxdApp], served: ServedDaemon) -> None:
    ids = _many_shops(served)
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert table.row_count == PAGE
        assert table.get_row_at(0)[0] == ids[0]
        assert shown_text(app, "#page").startswith(f"shops 1-{PAGE} of {len(ids)};")
        assert "[ ]: pages" in shown_text(app, "#page")
        assert {"right_square_bracket", "left_square_bracket", "slash"} <= set(_keys(app))
        await pilot.press("right_square_bracket", "right_square_bracket")
        await settle(pilot)
        assert [table.get_row_at(i)[0] for i in range(table.row_count)] == ids[2 * PAGE :]
        assert shown_text(app, "#page").startswith(f"shops {2 * PAGE + 1}-{len(ids)} of {len(ids)};")
        await pilot.press("right_square_bracket")  # no page after the last
        await settle(pilot)
        assert table.get_row_at(0)[0] == ids[2 * PAGE]
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert table.get_row_at(0)[0] == ids[PAGE]


async def test_slash_searches_the_shops_and_enter_goes_back_to_the_table(
    make_app: Callable[[], OutboxdApp], served: ServedDaemon
) -> None:
    ids = _many_shops(served)
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("right_square_bracket")
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"shop-11")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert [table.get_row_at(i)[0] for i in range(table.row_count)] == [i for i in ids if "shop-11" in i]
        assert shown_text(app, "#page").startswith(f"shops 1-10 of {len(ids)} (10 matching);")
        assert "pages" not in shown_text(app, "#page")
        assert "right_square_bracket" not in _keys(app)  # one page: no page keys in the footer
        await pilot.press("enter")
        assert isinstance(app.focused, DataTable)  # the shop keys act again
        await pilot.press("f")
        await settle(pilot)
        assert type(app.screen).__name__ == "FailedScreen"


async def test_a_few_shops_show_the_search_key_but_no_page_keys(make_app: Callable[[], OutboxdApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert _keys(app)["slash"] == "Find"
        assert "left_square_bracket" not in _keys(app)
        assert isinstance(app.focused, DataTable)
        assert shown_text(app, "#page").startswith("shops 1-2 of 2;")
