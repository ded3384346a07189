"""The full-screen message shown while the daemon does not answer, with a retry key."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Middle
from textual.widgets import Static

from outboxd.exceptions import DaemonNotRunning
from tui.base import OperatorScreen, footer

RETRY_SECONDS = 2.0
"""How often the screen tries the daemon again by itself (a restart after a mapping fix takes a second or two)."""


class DaemonDownScreen(OperatorScreen):
    """Says why and how to start the daemon; tries again every few seconds (``r`` at once), back once it answers."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "retry", "Retry", id="daemon_down.retry")]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Static(f"✗ {self.message}\n\nr: try again    q: quit", id="daemon-down")
        yield footer()

    def on_mount(self) -> None:
        self.set_interval(RETRY_SECONDS, self.action_retry)

    @work(group="daemon", exclusive=True, exit_on_error=False, description="reach the daemon")
    async def action_retry(self) -> None:
        try:
            await self.client.status()
        except DaemonNotRunning as exc:
            self.query_one("#daemon-down", Static).update(f"✗ {exc}\n\nstill not running. r: try again    q: quit")
            return
        below = self.app.screen_stack[-2]
        self.dismiss()
        if hasattr(below, "load"):
            below.load()
