"""The daemon's TCP listeners, one purpose each: ``/metrics`` alone, and the OAuth callback only while needed.

The control API is served on its Unix socket only (outboxd.control.server): the file's mode and group decide who
may operate, the peer's credentials name the actor. Nothing on TCP can pause a shop, discard an event or start a
connect: a web page in an operator's browser (through an ``ssh -L`` tunnel) or another local user reaches at
most the metrics, and the callback path while an authorization the operator started is pending.

The callback listener checks the ``Host`` header (loopback names, ``daemon.callback_host`` and the host of the
redirect URI): a page that rebinds its own DNS name to 127.0.0.1 is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import structlog
from aiohttp import web

__all__ = ["LOOPBACK_NAMES", "CallbackListener", "Listeners", "metrics_app"]

log = structlog.get_logger("outboxd.listeners")

Page = Callable[[web.Request], Awaitable[web.StreamResponse]]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
"""Host names that always reach this machine's loopback interface."""


def metrics_app(page: Page) -> web.Application:
    """An application that answers ``GET /metrics`` and nothing else (404 for other paths, 405 other methods)."""
    app = web.Application()
    app.router.add_get("/metrics", page, allow_head=False)
    return app


def _hostname(netloc: str) -> str:
    return (urlsplit(f"//{netloc}").hostname or "").lower()


class CallbackListener:
    """The OAuth callback: its one path, GET only, Host checked; it listens until the last pending authorization
    expires or is used (``follow``), and not at all when none is pending."""

    def __init__(self, host: str, port: int, path: str, redirect_uri: str, page: Page) -> None:
        self.host, self.port = host, port
        self._hosts = LOOPBACK_NAMES | {host.lower().strip("[]"), _hostname(urlsplit(redirect_uri).netloc)}
        app = web.Application(middlewares=[self._check_host])
        app.router.add_get(path, page, allow_head=False)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        self._site: web.TCPSite | None = None
        self._expiry: asyncio.Task[None] | None = None

    @property
    def listening(self) -> bool:
        return self._site is not None

    async def setup(self) -> None:
        await self._runner.setup()

    async def follow(self, until: dt.datetime | None) -> None:
        """Listen until ``until`` (the expiry of the last pending authorization); None or past: stop listening."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        left = None if until is None else (until - dt.datetime.now(dt.UTC)).total_seconds()
        if left is None or left <= 0:
            await self._stop()
            return
        if self._site is None:
            site = web.TCPSite(self._runner, self.host, self.port)
            await site.start()
            self._site = site
            log.info("callback.listening", host=self.host, port=self.port)
        self._expiry = asyncio.create_task(self._expire(left), name="callback-expiry")

    async def _expire(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._expiry = None
        await self._stop()

    async def _stop(self) -> None:
        site, self._site = self._site, None
        if site is not None:
            await site.stop()
            log.info("callback.closed", host=self.host, port=self.port)

    async def cleanup(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry
        self._site = None
        await self._runner.cleanup()

    @web.middleware
    async def _check_host(self, request: web.Request, handler: Page) -> web.StreamResponse:
        if _hostname(request.host) not in self._hosts:
            return web.Response(status=421, text="this listener does not answer for that host name")
        return await handler(request)


class Listeners:
    """What ``Daemon._serve`` started: one runner per application, and the callback listener; closed together."""

    def __init__(self, callback: CallbackListener) -> None:
        self.callback = callback
        self._runners: list[web.AppRunner] = []

    async def runner(self, app: web.Application) -> web.AppRunner:
        """A runner set up for ``app``, cleaned up with the others."""
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        self._runners.append(runner)
        return runner

    async def cleanup(self) -> None:
        await self.callback.cleanup()
        for runner in reversed(self._runners):
            await runner.cleanup()
