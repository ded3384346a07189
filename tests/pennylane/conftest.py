"""Fixtures of the Pennylane client tests: one aiohttp session, a fake clock, and a scripted peer.

aioresponses 0.7.9 cannot build responses under aiohttp 3.14 (``ClientResponse`` now needs ``stream_writer``,
pnuckowski/aioresponses#289), so edge cases a real Pennylane cannot be made to produce are served by a tiny
aiohttp server on loopback that answers from a script: real HTTP, real timeouts, real resets.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from outboxd.pennylane import ApiTokenConnection, PennylaneClient, RateLimiter, RecordingTrace
from outboxd.secrets import Secret

API_PATH = "/api/external/v2"


class FakeClock:
    """A Unix-time clock that only moves when slept on: rate-limit tests run in no real time."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@dataclass
class Reply:
    """One scripted answer; ``delay`` holds it back (timeouts), ``drop`` cuts the connection (reset)."""

    status: int = 200
    body: Any = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str


class ScriptedPeer:
    """Answers ``(method, path)`` from queued replies; the last reply of a queue repeats."""

    def __init__(self) -> None:
        self.script: dict[tuple[str, str], list[Reply]] = {}
        self.seen: list[Seen] = []
        self.url = ""
        self.root = ""

    def on(self, method: str, path: str, *replies: Reply, root: bool = False) -> None:
        """Script ``path`` under the API prefix (or at the server root for ``root=True``, e.g. /oauth/token)."""
        self.script.setdefault((method, path if root else API_PATH + path), []).extend(replies)

    def hits(self, method: str, path: str) -> list[Seen]:
        return [seen for seen in self.seen if (seen.method, seen.path) == (method, path)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        self.seen.append(Seen(request.method, request.path, dict(request.query), dict(request.headers), body))
        queue = self.script.get((request.method, request.path))
        if not queue:
            return web.json_response({"error": "Not found", "status": 404}, status=404)
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.drop:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=499)
        text = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
        return web.Response(status=reply.status, text=text, headers=reply.headers)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.fixture
async def peer() -> AsyncIterator[ScriptedPeer]:
    scripted = ScriptedPeer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", scripted.handle)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    scripted.root = f"http://127.0.0.1:{port}"
    scripted.url = scripted.root + API_PATH
    yield scripted
    await runner.cleanup()


@pytest.fixture
def trace() -> RecordingTrace:
    return RecordingTrace()


@pytest.fixture
def scripted_client(
    session: aiohttp.ClientSession, peer: ScriptedPeer, clock: FakeClock, trace: RecordingTrace
) -> PennylaneClient:
    """A client with a static token against the scripted peer; timeouts are short so tests stay fast."""
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    connection = ApiTokenConnection(Secret("tok-static-123"))
    return PennylaneClient(session, peer.url, connection, limiter, timeout=0.3, trace=trace)
