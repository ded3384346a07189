"""What TUI tests share besides fixtures: the served double's handle and a way to let the app settle."""

from __future__ import annotations

from pathlib import Path

from control.backend_double import DaemonDouble
from textual.pilot import Pilot


class ServedDaemon:
    """The double and its socket; ``daemon`` is inspected by tests after the app acted."""

    def __init__(self, daemon: DaemonDouble, socket_path: Path) -> None:
        self.daemon = daemon
        self.socket_path = socket_path


async def settle(pilot: Pilot[None]) -> None:
    """Let every worker finish and every message posted by them be handled."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
