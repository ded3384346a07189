"""The operator dashboard: wiring only. Screens are imported when first opened, so the app starts fast.

A client of the daemon's control API and nothing else; a missing daemon shows a full-screen message.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Callable
from typing import Any, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.worker import Worker

from outboxd.control.client import ControlClient
from outboxd.control.shapes import DaemonInfo
from outboxd.control.text import printable
from outboxd.exceptions import ControlError, DaemonNotRunning
from tui.booking import ask_switch
from tui.commands import OperatorCommands

__all__ = ["OutboxdApp", "use_terminal"]

TOAST_SECONDS = 10.0
"""How long a notification stays: long enough to read a sentence twice."""


def use_terminal() -> str | None:
    """Make the dashboard's output the terminal; None when it is, else why it cannot run.

    Textual draws on stderr but measures stdout, or ``$COLUMNS``/``$LINES`` when set: with stdout piped (``outboxd tui
    | tee``) it drew 80x24 whatever the terminal. Stdout then becomes the terminal too (nothing of the dashboard is
    worth piping), and the terminal's own size wins over stale variables."""
    stdout, stderr = sys.__stdout__, sys.__stderr__
    if stdout is None or stderr is None or not stderr.isatty():
        return "the dashboard draws on a terminal, and its output (stderr) is not one: run it without redirecting it"
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)
    if not stdout.isatty():
        stdout.flush()
        os.dup2(stderr.fileno(), stdout.fileno())
    return None


def _screen(module: str, name: str, *args: Any) -> Any:
    """Import ``tui.screens.<module>`` only now and build its screen."""
    return getattr(importlib.import_module(f"tui.screens.{module}"), name)(*args)


class OutboxdApp(App[None]):
    """``outboxd tui``: overview, connect, backfill, failed deliveries, mapping, closings, help."""

    CSS_PATH = "app.tcss"
    TITLE = "outboxd"
    COMMANDS = App.COMMANDS | {OperatorCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark,f1", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(self, client: ControlClient, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.client = client
        self.clock = clock
        self._quitting = False
        self.daemon_info: DaemonInfo = {}
        """The daemon part of the last status read (its configuration file, its OAuth callback): for Help."""

    def on_mount(self) -> None:
        self.push_screen(_screen("overview", "OverviewScreen"))

    async def on_unmount(self) -> None:
        await self.client.close()

    async def action_quit(self) -> None:
        """Quit; keys typed after ``q`` but queued before the quit runs are dropped (see :meth:`on_event`)."""
        self._quitting = True
        self.exit()

    def action_help_quit(self) -> None:
        """Ctrl-C quits, as the README and the footer say (with text selected, it copies that text instead)."""
        self._quitting = True
        self.exit()

    def notify(
        self, message: str, *, title: str = "", severity: SeverityLevel = "information", timeout: float | None = None,
        markup: bool = True,
    ) -> None:  # fmt: skip
        """Every notification is plain text (they carry shop ids and the daemon's words: never markup, never a
        terminal escape) and stays :data:`TOAST_SECONDS`."""
        super().notify(printable(message, lines=True), title=printable(title), severity=severity,
                       timeout=timeout or TOAST_SECONDS, markup=False)  # fmt: skip

    async def on_event(self, event: events.Event) -> None:
        """While quitting, input goes nowhere: a screen opened now would query widgets already torn down."""
        if self._quitting and isinstance(event, events.InputEvent):
            return
        await super().on_event(event)

    # --- one route for every worker's failure ---
    def worker_failed(self, worker: Worker[Any], error: BaseException) -> None:
        """The daemon gone: the full-screen message. A refused call: a notification saying why."""
        if isinstance(error, DaemonNotRunning):
            if not any(type(s).__name__ == "DaemonDownScreen" for s in self.screen_stack):
                self.push_screen(_screen("daemon_down", "DaemonDownScreen", str(error)))
        elif isinstance(error, ControlError):
            self.notify(f"✗ {error}", title=worker.description or "daemon", severity="error")
        else:
            self.notify(f"✗ {type(error).__name__}: {error}", title="dashboard bug", severity="error")

    # --- navigation, also used by the command palette ---
    def action_help(self) -> None:
        self.push_screen(_screen("help", "HelpScreen", self.daemon_info))

    def action_connect(self, shop_id: str) -> None:
        self.push_screen(_screen("connect", "ConnectScreen", shop_id))

    def action_backfill(self, shop_id: str) -> None:
        self.push_screen(_screen("backfill", "BackfillScreen", shop_id))

    def action_failed(self, shop_id: str = "") -> None:
        self.push_screen(_screen("failed", "FailedScreen", shop_id or None))

    def action_mapping(self, shop_id: str) -> None:
        self.push_screen(_screen("mapping", "MappingScreen", shop_id))

    def action_closings(self, shop_id: str) -> None:
        self.push_screen(_screen("closings", "ClosingsScreen", shop_id))

    def action_booking(self, shop_id: str) -> None:
        self.run_worker(ask_switch(self, shop_id), group="booking", description="the booking mode")

    def action_delivery(self, delivery_id: int) -> None:
        self.push_screen(_screen("delivery", "DeliveryScreen", delivery_id))

    def shop_ids(self) -> list[str]:
        """The shops the overview last saw (for the command palette)."""
        overview = self.screen_stack[1] if len(self.screen_stack) > 1 else None
        return list(getattr(overview, "shop_ids", []))
