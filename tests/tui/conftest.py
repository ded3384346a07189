"""TUI fixtures: the daemon double served on a real Unix socket from its own thread, a fixed clock, no blink.

The server runs in a thread with its own event loop so both pilot tests (pytest's loop) and snapshot tests
(which start their own loop) reach it the same way, over the socket.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from control.backend_double import NOW, DaemonDouble, serving
from textual.widgets import Input
from tui_session import ServedDaemon

from outboxd.control.client import ControlClient
from tui.app import OutboxdApp


@pytest.fixture
def served() -> Iterator[ServedDaemon]:
    directory = Path(tempfile.mkdtemp(prefix="oxt-", dir="/tmp"))
    daemon = DaemonDouble()
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def main() -> None:
        async with serving(daemon, directory / "control.sock"):
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(5), "the control server did not start"
    yield ServedDaemon(daemon, directory / "control.sock")
    loop.call_soon_threadsafe(stop.set)
    thread.join(5)
    loop.close()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def make_app(served: ServedDaemon) -> Callable[[], OutboxdApp]:
    """The app factory: a client of the served double, at the double's fixed clock."""

    def make() -> OutboxdApp:
        return OutboxdApp(ControlClient(served.socket_path, actor="operator"), clock=lambda: NOW)

    return make


@pytest.fixture(autouse=True)
def _steady_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    """No blinking cursor and the dashboard's own refresh timer off: screenshots and assertions are stable."""
    monkeypatch.setattr(Input, "cursor_blink", False)
    monkeypatch.setattr("tui.screens.overview.REFRESH_SECONDS", 3600.0)


@pytest.fixture
def socket_dir_tui() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="oxn-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
