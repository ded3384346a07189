"""The systemd notify protocol (``sd_notify``), in the standard library only.

systemd starts ``outboxd run`` with ``Type=notify``: it passes the address of a datagram socket in
``NOTIFY_SOCKET`` and waits for ``READY=1`` before it calls the service started; ``STATUS=`` shows in
``systemctl status``; ``STOPPING=1`` says a graceful shutdown began; ``WATCHDOG=1`` must arrive at least every
``WATCHDOG_USEC`` microseconds or systemd kills and restarts the service (``WatchdogSec=`` in the unit).

Outside systemd (a terminal, the tests, ``outboxd demo``) ``NOTIFY_SOCKET`` is unset and every call is a no-op,
so the daemon calls the notifier unconditionally. Sending never blocks and never raises: a lost notification
must not take the daemon down, it is logged instead (``systemd.notify_failed``).

A watchdog ping only means something if it proves the daemon works, so :class:`Watchdog` pings only when the
main loop reported progress since the previous ping: a wedged loop stops the pings and systemd restarts us.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Mapping

import structlog

__all__ = ["Notifier", "Watchdog"]

log = structlog.get_logger(__name__)


def _address(value: str) -> str | None:
    """The ``sendto`` address of ``NOTIFY_SOCKET``: a path, or ``@name`` for the abstract namespace."""
    if value.startswith("/"):
        return value
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    return None  # vsock: and other transports of newer systemd are not supported


def _watchdog_interval(environ: Mapping[str, str]) -> float | None:
    """Seconds between two deadlines of systemd's watchdog, when it watches this very process."""
    usec, pid = environ.get("WATCHDOG_USEC", ""), environ.get("WATCHDOG_PID", "")
    if not usec:
        return None
    if pid and pid != str(os.getpid()):
        return None  # the watchdog is meant for another process (we were forked or exec'd by it)
    try:
        value = int(usec)
    except ValueError:
        log.warning("systemd.bad_watchdog_usec", value=usec)
        return None
    return value / 1_000_000 if value > 0 else None


class Notifier:
    """Sends state changes to systemd over ``NOTIFY_SOCKET``; does nothing when there is none."""

    def __init__(self, address: str | None = None, *, watchdog_interval: float | None = None) -> None:
        """``address`` as found in ``NOTIFY_SOCKET`` (a path or ``@abstract``); ``None`` makes a no-op notifier."""
        self._address = _address(address) if address else None
        if address and self._address is None:
            log.warning("systemd.unsupported_notify_socket", notify_socket=address)
        self._watchdog_interval = watchdog_interval
        self._sock: socket.socket | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """The notifier systemd asked for through ``NOTIFY_SOCKET``, ``WATCHDOG_USEC`` and ``WATCHDOG_PID``."""
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET") or None, watchdog_interval=_watchdog_interval(env))

    @property
    def enabled(self) -> bool:
        """Whether notifications go anywhere (the daemon runs under systemd with ``Type=notify``)."""
        return self._address is not None

    def watchdog_interval(self) -> float | None:
        """systemd's watchdog timeout in seconds, ``None`` when no watchdog watches us; ping at half of it."""
        return self._watchdog_interval if self.enabled else None

    def ready(self, status: str | None = None) -> bool:
        """Startup is complete: systemd starts units ordered after us. ``status`` is shown alongside."""
        return self._send("READY=1", status)

    def status(self, text: str) -> bool:
        """One line for ``systemctl status`` (queue depth, lag, draining...)."""
        return self._send(None, text)

    def stopping(self, status: str | None = None) -> bool:
        """A graceful shutdown began; systemd waits up to ``TimeoutStopSec`` before it kills us."""
        return self._send("STOPPING=1", status)

    def watchdog(self) -> bool:
        """Tell systemd we are alive; call through :class:`Watchdog`, which checks that this is true."""
        return self._send("WATCHDOG=1", None)

    def close(self) -> None:
        """Release the socket; later calls open a new one."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _send(self, state: str | None, status: str | None) -> bool:
        """Send one datagram; ``False`` (and a log line) when it could not be sent, never an exception."""
        if self._address is None:
            return False
        lines = [state] if state else []
        if status is not None:
            lines.append("STATUS=" + status.replace("\n", " "))
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)
            self._sock.sendto("\n".join(lines).encode(), self._address)
        except OSError as exc:  # no listener, buffer full (EAGAIN), socket gone: systemd will notice by itself
            log.warning("systemd.notify_failed", message=lines[0], error=str(exc))
            self.close()
            return False
        return True


class Watchdog:
    """Pings systemd's watchdog at half its interval, but only after the main loop proved it made progress.

    The daemon calls :meth:`progress` once per cycle of its main loop, idle cycles included (each outbox check
    counts); :meth:`run` is a background task that sends ``WATCHDOG=1`` when progress happened since the last
    ping and stays silent otherwise, so a stuck loop (or a blocked event loop) leads systemd to restart us.
    """

    def __init__(self, notifier: Notifier, *, period: float | None = None) -> None:
        """``period`` between checks defaults to half of systemd's watchdog interval."""
        interval = notifier.watchdog_interval()
        self._notifier = notifier
        self._period = period if period is not None else (interval / 2 if interval else None)
        self._progressed = False

    @property
    def enabled(self) -> bool:
        """Whether systemd watches us (``WatchdogSec=`` in the unit and ``NOTIFY_SOCKET`` set)."""
        return self._period is not None and self._notifier.enabled

    def progress(self) -> None:
        """The main loop completed a cycle; cheap enough to call on every one."""
        self._progressed = True

    async def run(self) -> None:
        """Ping while progress is reported; runs until cancelled (sleeps forever when no watchdog is set)."""
        if self._period is None or not self._notifier.enabled:
            await asyncio.Event().wait()
            return
        while True:
            await asyncio.sleep(self._period)
            if self._progressed:
                self._progressed = False
                self._notifier.watchdog()
            else:
                log.warning("systemd.watchdog_skipped", reason="no main-loop progress since the last ping")
