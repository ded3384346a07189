"""Failed deliveries: filter, detail, retry, discard with a reason, bulk actions after a dry-run count."""

from __future__ import annotations

from collections.abc import Callable

from peer import audited
from textual.pilot import Pilot
from textual.widgets import DataTable, Input
from tui_session import ServedDaemon, settle, shown_text

from tui.app import OutboxdApp
from tui.modals import ConfirmModal, ReasonModal

OPERATOR = audited("operator")
"""The audit actor of the test client: this process's login, operator as declared."""


async def _open_failed(app: OutboxdApp, pilot: Pilot[None], shop: str = "") -> None:
    await settle(pilot)
    app.action_failed(shop)
    await settle(pilot)


async def test_lists_all_then_filters_on_enter(make_app: Callable[[], OutboxdApp], served: ServedDaemon) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f")  # from the overview, the selected shop
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert [table.get_row_at(i)[0] for i in range(table.row_count)] == [1, 2, 3]
        await pilot.press("slash")
        await pilot.press("tab", "tab", "tab", *"422", "enter")
        await settle(pilot)
        assert table.row_count == 1
        assert served.daemon.called("failed")[-1]["filter"] == {"shop": "paris-01", "http_status": 422}
        assert "1 of 1 failed deliveries" in shown_text(app, "#failed-count")


async def test_r_retries_the_selected_delivery(make_app: Callable[[], OutboxdApp], served: ServedDaemon) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_failed(app, pilot, "paris-01")
        await pilot.press("down", "r")
        await settle(pilot)
        assert served.daemon.called("retry") == [{"delivery_id": 2, "actor": OPERATOR}]
        assert app.screen.query_one(DataTable).row_count == 2


async def test_discard_requires_a_reason(make_app: Callable[[], OutboxdApp], served: ServedDaemon) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_failed(app, pilot, "paris-01")
        await pilot.press("d")
        assert isinstance(app.screen, ReasonModal)
        await pilot.press("enter")
        assert isinstance(app.screen, ReasonModal), "an empty reason is refused"
        assert "a reason is required" in shown_text(app, "#reason-error")
        await pilot.press(*"booked by hand", "enter")
        await settle(pilot)
        assert served.daemon.called("discard") == [{"delivery_id": 1, "actor": OPERATOR, "reason": "booked by hand"}]


async def test_escape_on_the_reason_discards_nothing(make_app: Callable[[], OutboxdApp], served: ServedDaemon) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_failed(app, pilot)
        await pilot.press("d", "escape")
        await settle(pilot)
        assert served.daemon.called("discard") == []


async def test_bulk_retry_confirms_with_the_dry_run_count(
    make_app: Callable[[], OutboxdApp], served: ServedDaemon
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_failed(app, pilot, "paris-01")
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert app.screen.question.startswith("Retry 3 failed deliveries?")
        assert served.daemon.called("bulk_retry") == [
            {"filter": {"shop": "paris-01"}, "actor": OPERATOR, "dry_run": True}
        ]
        await pilot.press("y")
        await settle(pilot)
        assert served.daemon.called("bulk_retry")[-1] == {
            "filter": {"shop": "paris-01"},
            "actor": OPERATOR,
            "dry_run": False,
        }
        assert app.screen.query_one(DataTable).row_count == 0


async def test_bulk_discard_refused_does_nothing(make_app: Callable[[], OutboxdApp], served: ServedDaemon) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_failed(app, pilot)
        app.screen.query_one("#filter-error_class", Input).value = "auth"
        await pilot.press("D", *"shop closed", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert "Discard 1 failed delivery?" in app.screen.question
        await pilot.press("n")
        await settle(pilot)
        assert [c["dry_run"] for c in served.daemon.called("bulk_discard")] == [True]
        assert served.daemon.called("bulk_discard")[0]["reason"] == "shop closed"


async def test_detail_shows_payload_entries_attempts_then_discards(
    make_app: Callable[[], OutboxdApp], served: ServedDaemon
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_failed(app, pilot, "paris-01")
        await pilot.press("down", "enter")
        await settle(pilot)
        text = shown_text(app, "#delivery-detail")
        assert "payment.received" in text
        assert "KC-1002  journal VT1" in text
        assert '"order_id": "order-2"' in text
        assert '  Pennylane answered:\n    {\n      "error": "journal_id: is invalid"\n    }' in text
        assert "⏸ 1 event waits behind it: 102" in text
        await pilot.press("d", *"wrong journal", "enter")
        await settle(pilot)
        assert served.daemon.called("discard") == [{"delivery_id": 2, "actor": OPERATOR, "reason": "wrong journal"}]
        assert app.screen.query_one(DataTable).row_count == 2
