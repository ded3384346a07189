"""Snapshots at 80x24 of the screens test_tui_snapshots.py leaves out: Connect (connected with a missing scope; an
OAuth start with its URL), Mapping, Delivery detail, Help and the daemon-down message. Against the daemon double
at its fixed clock, so a snapshot changes only when the screen does (``pytest --snapshot-update`` after a
deliberate change, then look at the SVG).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from control.backend_double import NOW
from textual.pilot import Pilot
from tui_session import settle

from outboxd.control.client import ControlClient
from tui.app import OutboxdApp

SIZE = (80, 24)
ABSENT = Path("/run/outboxd-snapshot/absent.sock")
"""A socket path that never exists, written in the message: fixed, so the snapshot is too."""


def opening(action: Callable[[OutboxdApp], None], *keys: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    """Once the overview is loaded: ``action`` on the app, then ``keys``, each followed by every worker's end."""

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        action(pilot.app)  # type: ignore[arg-type]
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def test_connect_missing_scope(snap_compare: Any, make_app: Callable[[], OutboxdApp]) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=opening(lambda app: app.action_connect("paris-01")))


def test_connect_oauth_started(snap_compare: Any, make_app: Callable[[], OutboxdApp]) -> None:
    run_before = opening(lambda app: app.action_connect("lyon-02"), "s")
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_mapping(snap_compare: Any, make_app: Callable[[], OutboxdApp]) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=opening(lambda app: app.action_mapping("paris-01")))


def test_delivery_detail(snap_compare: Any, make_app: Callable[[], OutboxdApp]) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=opening(lambda app: app.action_delivery(2)))


def test_help(snap_compare: Any, make_app: Callable[[], OutboxdApp]) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=opening(lambda app: app.action_help()))


def test_daemon_down(snap_compare: Any) -> None:
    app = OutboxdApp(ControlClient(ABSENT, actor="operator"), clock=lambda: NOW)
    assert not ABSENT.exists()
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)
