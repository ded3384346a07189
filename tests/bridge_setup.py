"""A bridge laid out on disk for tests and benchmarks: outbox, state, secrets (0600) and a TOML config.

The config points the daemon at a running simulator; shops connect with company API tokens the simulator
issued, so no OAuth dance is needed unless a test wants one.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outboxd.config import Config, load_config
from outboxd.outbox import ensure_outbox, insert_events, open_outbox
from outboxd.secrets import ensure_key_file

if TYPE_CHECKING:
    from outboxd.daemon import Daemon


async def wait_until(predicate: Callable[[], Awaitable[bool]], within: float = 30.0, what: str = "condition") -> None:
    """Poll ``predicate`` every 50 ms until it holds; fail after ``within`` seconds, naming ``what``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not met within {within} s")
        await asyncio.sleep(0.05)


async def dispatch_pass(daemon: Daemon, shop_id: str, within: float = 10.0) -> None:
    """Until the in-process daemon's dispatcher has made a whole pass over ``shop_id``, begun after this call.

    Whatever that pass would claim for the shop is in the lane's ``in_flight`` by then: a test asserts that
    something is *not* sent (held history, a paused shop) after this event, instead of after a fixed sleep.
    """
    lanes = daemon.lanes
    due, wait = lanes.due, lanes.wait
    looked, passed = False, asyncio.Event()

    def watched_due() -> set[str]:
        nonlocal looked
        shops = due()
        looked = looked or shop_id in shops
        return shops

    async def watched_wait(idle: float) -> None:
        if looked:
            passed.set()
        await wait(idle)

    lanes.due, lanes.wait = watched_due, watched_wait  # type: ignore[method-assign]
    try:
        await asyncio.wait_for(passed.wait(), within)
    finally:
        del lanes.due, lanes.wait


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def short_dir() -> Path:
    """A directory whose paths fit in an AF_UNIX socket address (~100 bytes), unlike pytest's tmp_path."""
    return Path(tempfile.mkdtemp(prefix="obx-", dir="/tmp"))


def secret_file(path: Path, value: str) -> Path:
    path.write_text(value)
    os.chmod(path, 0o600)
    return path


def insert_outbox(outbox: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    """Rows written to the outbox the way Kash.Click does (a known event_id is ignored); how many are new."""
    conn = open_outbox(outbox)
    try:
        return insert_events(conn, rows)
    finally:
        conn.close()


class AsText(bytes):
    """Bytes written as a TEXT value (``CAST(? AS TEXT)``): text that is not UTF-8, as a careless driver stores it."""


OUTBOX_COLUMNS = ("event_id", "shop_id", "event_type", "aggregate_id", "occurred_at", "payload")


def insert_raw(outbox: Path, rows: Iterable[Sequence[Any]]) -> list[int]:
    """Rows as a buggy driver writes them (plain sqlite3, values of ``OUTBOX_COLUMNS`` whatever their types: bytes,
    numbers, None, ``AsText``), in one transaction; their outbox ids."""
    conn = sqlite3.connect(outbox)
    try:
        ids = []
        with conn:
            for values in rows:
                marks = ", ".join("CAST(? AS TEXT)" if type(v) is AsText else "?" for v in values)
                cursor = conn.execute(f"INSERT INTO outbox ({', '.join(OUTBOX_COLUMNS)}) VALUES ({marks})",  # noqa: S608
                                      [bytes(v) if type(v) is AsText else v for v in values])  # fmt: skip
                ids.append(int(cursor.lastrowid or 0))
        return ids
    finally:
        conn.close()


@dataclass
class Bridge:
    root: Path
    api_url: str
    shop_tokens: dict[str, str]
    extra: str = ""
    daemon_extra: str = ""
    rate_limit: tuple[int, float] = (100_000, 1.0)
    """The client's pacing; the default lifts it (the simulator runs without its limit unless told)."""
    sockdir: Path = field(default_factory=short_dir)

    @property
    def outbox(self) -> Path:
        return self.root / "outbox.sqlite3"

    @property
    def state(self) -> Path:
        return self.root / "state.sqlite3"

    @property
    def socket(self) -> Path:
        return self.sockdir / "control.sock"

    @property
    def config_path(self) -> Path:
        return self.root / "outboxd.toml"

    def write(self) -> Bridge:
        self.root.mkdir(parents=True, exist_ok=True)
        ensure_key_file(self.root / "token.key")
        ensure_outbox(self.outbox)
        shops = []
        for shop_id, token in self.shop_tokens.items():
            secret_file(self.root / f"{shop_id}.token", token)
            shops.append(f'[shops."{shop_id}"]\napi_token_file = "{shop_id}.token"\n')
            shops.append(f'[shops."{shop_id}".backfill]\noffer_on_connect = false\n')  # a backlog flows live
        self.config_path.write_text(
            f"""[daemon]
outbox_database = "{self.outbox}"
state_database = "{self.state}"
control_socket = "{self.socket}"
metrics_listen = "127.0.0.1:{free_port()}"
callback_port = {free_port()}
poll_interval = 0.02
lease_seconds = 30.0
backoff_base = 0.2
backoff_cap = 2.0
shutdown_grace = 5.0
log_format = "json"
{self.daemon_extra}
[pennylane]
api_url = "{self.api_url}"
request_timeout = 5.0

[pennylane.rate_limit]
requests = {self.rate_limit[0]}
per_seconds = {self.rate_limit[1]}

[secrets]
token_key_file = "token.key"

{self.extra}
"""
            + "\n".join(shops)
        )
        return self

    def insert(self, rows: Iterable[Mapping[str, Any]]) -> int:
        return insert_outbox(self.outbox, rows)

    def config(self) -> Config:
        return load_config(self.config_path)
