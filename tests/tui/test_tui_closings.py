"""The Closings screen (Z control) against the REAL daemon and the simulator: a day of two registers whose Z of r1
expects 2.30 more by one method than was paid shows first (the API lists r2's, delivered later, first), as
``✗ mismatch`` with that method's -2.30; r2 matches.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from real_daemon import Real, history, real_world, until
from textual.widgets import DataTable
from tui_session import ServedDaemon, settle, shown_text

from outboxd.exceptions import ControlError
from outboxd.money import format_cents, parse_amount
from tui.app import OutboxdApp

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Real, str]]:
    """A day of s1 delivered by the real daemon, r1's Z raised by 2.30 on its first method: (the world, the method)."""
    monkeypatch.setattr("tui.screens.overview.REFRESH_SECONDS", 0.2)
    rows = history("s1", days=1)
    z1 = next(r for r in rows if r["event_type"] == "register.closed" and r["payload"]["register_id"] == "r1")
    receipt = z1["payload"]["receipts"][0]
    receipt["expected"] = format_cents(parse_amount(receipt["expected"]) + 230)
    async with real_world(tmp_path) as world:
        world.bench.insert(rows)

        async def delivered() -> bool:
            shop = await world.client.shop("s1")
            return bool(shop["queue_depth"] == 0 and shop["delivered_today"] == len(rows))

        await until(delivered, what="the day delivered")
        yield world, receipt["method_id"]


async def test_closings_show_the_mismatch_first_in_words_and_cents(day: tuple[Real, str]) -> None:
    real, method = day
    app = real.operator_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        overview = shown_text(app, "#shop-detail")
        assert "✗ Z mismatch: 1 of 2 closings since " in overview
        await pilot.press("z")  # on the first shop, s1
        await settle(pilot)
        assert type(app.screen).__name__ == "ClosingsScreen"
        table = app.screen.query_one("#closings", DataTable)
        assert table.row_count == 2
        first, second = table.get_row_at(0), table.get_row_at(1)
        assert first[1:] == ["Z1", "Caisse 1", "✗ mismatch", f"{method} -2.30"]
        assert second[1:] == ["Z1", "Caisse 2", "✓ matches", "-"]
        summary = shown_text(app, "#closings-summary")
        assert "✗ 1 mismatched of 2 closings" in summary
        detail = shown_text(app, "#closing-detail")
        (line,) = [ln for ln in detail.splitlines() if ln.endswith("-2.30")]
        expected, delivered = line.split()[-3:-1]
        assert parse_amount(expected) - parse_amount(delivered) == 230
        await pilot.press("down")
        detail = shown_text(app, "#closing-detail")
        assert detail.startswith("Z1 r2 ")
        assert "-2.30" not in detail

        await pilot.press("m")  # mismatches only
        await settle(pilot)
        assert table.row_count == 1
        assert table.get_row_at(0)[3] == "✗ mismatch"

        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"closings s1", "enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "ClosingsScreen"
        assert app.screen.query_one("#closings", DataTable).row_count == 2


async def test_a_refused_z_count_is_said_on_its_line_and_the_status_stays(
    make_app: Callable[[], OutboxdApp], served: ServedDaemon
) -> None:
    async def refused(*_: Any) -> dict[str, Any]:
        raise ControlError("closings: the state database is locked")

    served.daemon.closings = refused  # type: ignore[method-assign]
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        detail = shown_text(app, "#shop-detail")
        assert "⚠ Z control unavailable: closings: the state database is locked" in detail
        assert "queue 12 (oldest live event" in detail
