"""The backfill tests' world: a bridge on disk (outbox, state, key, token files), the simulator on loopback, the
real daemon as a task, and the rules engine's view of the books. (A module of its own: test files importing from
``conftest`` got whichever conftest was imported first, tests/tui's in some orders.)"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from books import Balance, expected_books
from bridge_setup import free_port, insert_outbox, secret_file, short_dir

from outboxd.config import Config, config_from_dict
from outboxd.daemon import Daemon
from outboxd.pennylane_simulator import Sandbox


@dataclass
class World:
    root: Path
    sandbox: Sandbox
    api_url: str
    company: int
    shop: str = "s1"
    connected: bool = True
    rate_limit: tuple[int, float] = (1000, 1.0)
    mapping: dict[str, Any] = field(default_factory=dict)
    """The configuration's [mapping] (e.g. ``{"customers": "all"}``)."""

    @property
    def outbox(self) -> Path:
        return self.root / "outbox.sqlite3"

    @property
    def state(self) -> Path:
        return self.root / "state.sqlite3"

    def config(self) -> Config:
        shop: dict[str, Any] = {}
        if self.connected:
            token = self.root / "s1.token"
            if not token.exists():
                secret_file(token, self.sandbox.issue_api_token(self.company))
            shop["api_token_file"] = str(token)
        sock = short_dir() / "c.sock"
        data = {
            "daemon": {
                "outbox_database": str(self.outbox), "state_database": str(self.state), "control_socket": str(sock),
                "metrics_listen": False, "callback_port": free_port(), "poll_interval": 0.02,
                "backoff_base": 0.1, "backoff_cap": 1.0, "shutdown_grace": 5.0, "concurrency_per_shop": 8,
            },
            "pennylane": {"api_url": self.api_url, "request_timeout": 5.0,
                          "rate_limit": {"requests": self.rate_limit[0], "per_seconds": self.rate_limit[1]}},
            "secrets": {"token_key_file": str(self.root / "token.key")},
            "shops": {self.shop: shop} if self.connected else {},
            "mapping": self.mapping,
        }  # fmt: skip
        return config_from_dict(data, base_dir=self.root)

    def write(self, rows: list[dict[str, Any]]) -> None:
        insert_outbox(self.outbox, rows)

    def limit(self, requests: int, seconds: float) -> None:
        """Pennylane's rate limit, scaled: the simulator enforces it, the daemon's limiter keeps under it."""
        self.rate_limit = (requests, seconds)
        self.sandbox.limiter.enabled, self.sandbox.limiter.limit, self.sandbox.limiter.window = True, requests, seconds

    def requests(self) -> int:
        """Requests the simulator has answered so far, every token together."""
        return sum(self.sandbox.request_count.values())

    def pieces(self) -> Counter[str]:
        return Counter(e.piece_number for e in self.sandbox.entries(self.company))


class Running:
    """The real daemon as a task: ``async with Running(config) as daemon``."""

    def __init__(self, config: Config) -> None:
        self.daemon = Daemon(config)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Daemon:
        self.task = asyncio.create_task(self.daemon.run())
        await asyncio.wait_for(self.daemon.ready.wait(), 10)
        return self.daemon

    async def __aexit__(self, *exc: object) -> None:
        self.daemon.stop()
        assert self.task is not None
        await asyncio.wait_for(self.task, 20)


def expected_balance(rows: list[dict[str, Any]], daemon: Daemon, shop_id: str) -> Balance:
    """The trial balance the rules engine alone gives for these rows (customers folded into '411*')."""
    return expected_books(rows, daemon.config.shop_mapping(shop_id), shop_id).balance


async def settled(daemon: Daemon, shop: str = "s1") -> bool:
    backfill = await daemon.backfills.get(shop)
    return backfill is not None and backfill["state"] == "done"
