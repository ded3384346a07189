"""What every dashboard screen shares: the control client, the clock, and one route for worker errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.screen import Screen
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from outboxd.control.client import ControlClient
    from tui.app import OutboxdApp


def footer() -> Footer:
    """The key bar, compact so that ``?`` Help and ``q`` Quit fit at 80 columns; ``Ctrl+P`` is named on the overview's
    live line (in the bar it pushed ``q Quit`` out at 80 columns)."""
    return Footer(compact=True, show_command_palette=False)


class OperatorScreen(Screen[Any]):
    """A screen whose workers report their failures to :meth:`OutboxdApp.worker_failed`."""

    @property
    def operator_app(self) -> OutboxdApp:
        return self.app  # type: ignore[return-value]

    @property
    def client(self) -> ControlClient:
        return self.operator_app.client

    @property
    def clock(self) -> Callable[[], float]:
        return getattr(self.app, "clock", time.time)

    def action_back(self) -> None:
        """Escape leaves a text field first, then the screen."""
        if isinstance(self.focused, Input):
            self.set_focus(None)
        else:
            self.dismiss()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.operator_app.worker_failed(event.worker, event.worker.error)
