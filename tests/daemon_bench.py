"""The real daemon for control and delivery tests: in-process, real SQLite files, the simulator on loopback, the
real client.

Shop ``s1`` is connected by a company API token in the configuration; shop ``s2`` has nothing and connects
through OAuth during a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge_setup import free_port, insert_outbox, secret_file, short_dir, wait_until

from outboxd.config import Config, config_from_dict
from outboxd.control.client import ControlClient
from outboxd.daemon import Daemon
from outboxd.daemon.operations import DaemonControl
from outboxd.outbox import open_outbox
from outboxd.pennylane_simulator import Sandbox, SandboxHandle, run_sandbox
from outboxd.secrets import ensure_key_file
from outboxd.shop_simulator import simulate_shop

CLIENT_ID = "kash-click-control"


@dataclass
class Bench:
    sandbox: Sandbox
    handle: SandboxHandle
    config: Config
    companies: dict[str, int]
    token_file: Path
    """Shop s1's company API token, as the configuration names it."""
    outbox: Path
    client: ControlClient
    daemon: Daemon | None = None
    task: asyncio.Task[None] | None = None

    async def start(self) -> Daemon:
        self.daemon = Daemon(self.config, control_factory=DaemonControl)
        self.task = asyncio.create_task(self.daemon.run(), name="daemon")
        await asyncio.wait_for(self.daemon.ready.wait(), 10)
        return self.daemon

    async def restart(self, **changes: Any) -> Daemon:
        """Stop the daemon and start a new one on the same files, its configuration changed by ``changes``."""
        await self.stop()
        self.config = dataclasses.replace(self.config, **changes)
        return await self.start()

    async def stop(self) -> None:
        if self.daemon is not None and self.task is not None:
            self.daemon.stop()
            await asyncio.wait_for(self.task, 20)
            self.daemon, self.task = None, None

    def insert(self, rows: list[dict[str, Any]]) -> None:
        insert_outbox(self.outbox, rows)


def history(shop_id: str, days: int = 2) -> list[dict[str, Any]]:
    """A few days of tickets ending yesterday (the simulator's shop, fixed seed)."""
    start = dt.date.today() - dt.timedelta(days=days)
    return list(simulate_shop(shop_id, days=days, orders_per_day=4, registers=1, seed=7, start=start))


@contextlib.asynccontextmanager
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    """The simulator, a bridge's files and the daemon started on them; stopped and removed afterwards."""
    sockdir = short_dir()
    sandbox = Sandbox(rate_limit=None)
    companies = {"s1": sandbox.add_company("Boulangerie Martin").id, "s2": sandbox.add_company("Cave Durand").id}
    port = free_port()
    sandbox.register_oauth_app(CLIENT_ID, "s3cret", [f"http://127.0.0.1:{port}/oauth/callback"])
    outbox = tmp_path / "outbox.sqlite3"
    open_outbox(outbox).close()
    ensure_key_file(tmp_path / "token.key")
    token_file = secret_file(tmp_path / "s1.token", sandbox.issue_api_token(companies["s1"]))
    try:
        async with run_sandbox(sandbox) as handle:
            config = config_from_dict(
                {
                    "daemon": {"outbox_database": str(outbox), "state_database": "state.sqlite3",
                               "control_socket": str(sockdir / "c.sock"), "metrics_listen": False,
                               "callback_port": port, "backoff_base": 0.05, "backoff_cap": 0.2},
                    "pennylane": {"api_url": handle.api_url, "authorize_url": handle.authorize_url,
                                  "token_url": handle.token_url, "revoke_url": handle.revoke_url,
                                  "client_id": CLIENT_ID,
                                  "client_secret_file": str(secret_file(tmp_path / "client.secret", "s3cret")),
                                  "rate_limit": {"requests": 1000, "per_seconds": 1.0}},
                    "secrets": {"token_key_file": "token.key"},
                    "shops": {"s1": {"name": "Paris 1", "api_token_file": str(token_file),
                                    "backfill": {"offer_on_connect": False}}, "s2": {}},
                },
                base_dir=tmp_path,
            )  # fmt: skip
            client = ControlClient(sockdir / "c.sock", actor="alice")
            b = Bench(sandbox, handle, config, companies, token_file, outbox, client)
            await b.start()
            try:
                yield b
            finally:
                await b.client.close()
                await b.stop()
    finally:
        shutil.rmtree(sockdir, ignore_errors=True)


async def until(check: Callable[[], Awaitable[bool]], within: float = 20.0, what: str = "condition") -> None:
    """``wait_until`` with this world's shorter default bound."""
    await wait_until(check, within, what)
