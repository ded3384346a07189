"""What TUI tests share besides fixtures: the served double's handle and a way to let the app settle."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from control.backend_double import DaemonDouble
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Static
from textual.worker import WorkerCancelled


class ServedDaemon:
    """The double and its socket; ``daemon`` is inspected by tests after the app acted."""

    def __init__(self, daemon: DaemonDouble, socket_path: Path) -> None:
        self.daemon = daemon
        self.socket_path = socket_path


async def settle(pilot: Pilot[None]) -> None:
    """Let every worker finish and every message posted by them be handled. A live screen cancels its own previous
    refresh, which ``wait_for_complete`` raises: wait again then."""
    await pilot.pause()
    for _ in range(50):
        try:
            await pilot.app.workers.wait_for_complete()
            break
        except WorkerCancelled:
            continue
    await pilot.pause()


async def shows(pilot: Pilot[None], check: Callable[[], bool], within: float = 20.0, what: str = "") -> None:
    """Let the app run until ``check`` holds on what it shows (bounded)."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not shown within {within} s: {what}")
        await pilot.pause(0.05)


def shown_text(app: App[None], selector: str) -> str:
    """What ``selector`` shows on the current screen; empty while that screen is being composed."""
    found = app.screen.query(selector)
    return str(found.first(Static).render()) if found else ""
