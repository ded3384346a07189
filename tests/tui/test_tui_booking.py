"""The booking mode on the dashboard, against the real daemon (in-process, real SQLite files, the simulator): the
overview says a shop's mode, ``o`` opens the switch, which refuses a bad date and an empty reason, and switches
the shop from the date given, audited with the operator and the reason; Escape changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from real_daemon import Real, real_world, until
from textual.widgets import Input
from tui_session import settle, shown_text, shows

from tui.booking import BookingModal

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def real(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Real]:
    monkeypatch.setattr("tui.screens.overview.REFRESH_SECONDS", 0.2)
    async with real_world(tmp_path) as world:
        yield world


async def test_o_switches_the_selected_shop_to_daily_from_a_date_with_a_reason(real: Real) -> None:
    app = real.operator_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await shows(pilot, lambda: "booking: detailed" in shown_text(app, "#shop-detail"), what="the mode")

        await pilot.press("o")
        await shows(pilot, lambda: isinstance(app.screen, BookingModal), what="the switch dialog")
        await pilot.press("escape")  # nothing changes
        await shows(pilot, lambda: not isinstance(app.screen, BookingModal), what="the dialog closed")
        assert (await real.client.booking("s1"))["switches"][-1]["actor"] == "configuration"

        await pilot.press("o")
        await shows(pilot, lambda: isinstance(app.screen, BookingModal), what="the switch dialog")
        assert "Switch to daily" in shown_text(app, "#question")
        date = app.screen.query_one("#from-date", Input)
        date.value = "2026-13-01"
        await pilot.press("enter", "enter")  # to the reason, then confirm with an empty one
        assert "a date YYYY-MM-DD" in shown_text(app, "#booking-error")
        date.value = "2026-03-01"
        await pilot.press("enter")
        assert "a reason is required" in shown_text(app, "#booking-error")
        app.screen.query_one("#reason", Input).value = "the accountant wants one entry per Z"
        await pilot.press("enter")
        await shows(pilot, lambda: not isinstance(app.screen, BookingModal), what="the dialog closed")

        async def switched() -> bool:
            return (await real.client.booking("s1"))["switches"][-1]["from_date"] == "2026-03-01"

        await until(switched, what="the switch stored")
        booking = await real.client.booking("s1")
        assert booking["mode"] == "daily"
        assert booking["switches"][-1]["reason"] == "the accountant wants one entry per Z"
        audit = (await real.client.audit("s1"))["items"][0]
        assert audit["action"] == "booking.switch"
        assert "operator" in audit["actor"]
        await shows(pilot, lambda: "booking: daily" in shown_text(app, "#shop-detail"), what="the new mode")
