"""Wiring: the aiohttp application, and ``run_sandbox`` that serves it on loopback for a test or the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from outboxd.pennylane_simulator import inspection, oauth
from outboxd.pennylane_simulator.api import create_api
from outboxd.pennylane_simulator.context import API_PREFIX, SANDBOX
from outboxd.pennylane_simulator.world import Sandbox

__all__ = ["SandboxHandle", "create_app", "run_sandbox"]


def create_app(sandbox: Sandbox) -> web.Application:
    """OAuth at ``/oauth``, the API under ``/api/external/v2``, inspection under ``/_sandbox``."""
    app = web.Application()
    app[SANDBOX] = sandbox
    oauth.add_routes(app.router)
    inspection.add_routes(app.router)
    app.add_subapp(API_PREFIX, create_api(sandbox))
    return app


@dataclass(frozen=True, slots=True)
class SandboxHandle:
    """A running simulator: its world and where to reach it."""

    sandbox: Sandbox
    base_url: str  # http://127.0.0.1:PORT

    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def authorize_url(self) -> str:
        return self.base_url + oauth.AUTHORIZE_PATH

    @property
    def token_url(self) -> str:
        return self.base_url + oauth.TOKEN_PATH

    @property
    def revoke_url(self) -> str:
        return self.base_url + oauth.REVOKE_PATH

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])


@asynccontextmanager
async def run_sandbox(
    sandbox: Sandbox | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[SandboxHandle]:
    """Serve ``sandbox`` (a fresh empty one by default) until the block exits; ``port=0`` picks a free port."""
    world = sandbox if sandbox is not None else Sandbox()
    runner = web.AppRunner(create_app(world), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        yield SandboxHandle(world, f"http://{bound_host}:{bound_port}")
    finally:
        await runner.cleanup()
