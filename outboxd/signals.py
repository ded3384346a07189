"""SIGTERM and SIGINT handling, in one place that tests can switch off.

systemd stops the service with SIGTERM; a person at a terminal presses Ctrl-C (SIGINT). Both mean the same:

- the first signal asks for a graceful stop: ``callback(force=False)``. The daemon stops claiming, lets the
  in-flight requests finish within ``daemon.shutdown_grace`` and releases the rest;
- any later signal while that drain runs means "stop now": ``callback(force=True)``. The daemon cancels what is
  in flight; its claims are leased, so another start picks them up (the dedup lookup makes that safe).

The handlers go through ``loop.add_signal_handler`` so the callback runs in the event loop, never inside a
signal frame, and the previous handlers come back when the block exits (``loop.remove_signal_handler`` alone
would reset them to the defaults). Pattern taken from procrastinate's ``signals.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import structlog

__all__ = ["STOP_SIGNALS", "StopCallback", "on_stop_signals"]

log = structlog.get_logger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopCallback(Protocol):
    """What :func:`on_stop_signals` calls: graceful first, ``force=True`` on every later signal."""

    def __call__(self, *, force: bool) -> None: ...


Handler = Callable[[int, Any], Any] | int | None


@contextlib.contextmanager
def on_stop_signals(callback: StopCallback, *, enabled: bool = True) -> Iterator[None]:
    """Call ``callback`` on SIGTERM/SIGINT inside the block; restore the previous handlers after it.

    Must be entered from a coroutine running in the main thread's event loop. ``enabled=False`` (tests that
    run the daemon in-process, embedding) and a non-main thread leave the handlers untouched.
    """
    if not enabled:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        log.warning("signals.not_installed", reason="not in the main thread")
        yield
        return
    loop = asyncio.get_running_loop()
    previous: dict[signal.Signals, Handler] = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    received = 0

    def handle(sig: signal.Signals) -> None:
        nonlocal received
        received += 1
        force = received > 1
        log.info("signals.stop_requested", signal=sig.name, force=force)
        callback(force=force)

    try:
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, handle, sig)
        yield
    finally:
        for sig, handler in previous.items():
            loop.remove_signal_handler(sig)
            if handler is not None:  # None: installed outside Python, cannot be put back
                signal.signal(sig, handler)
