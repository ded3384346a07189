"""The daemon as a real process against an in-process simulator: layout, process control, checks.

Shared by tests/e2e and bench/kill_loop.py. The simulator runs in the caller's event loop, so every wait here is
an async poll (a blocking wait would stop the simulator from answering the daemon). The state database is read
with a read-only SQLite connection, as an operator's ``sqlite3`` would, while the daemon writes it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from books import Expected, expected_books, folded
from bridge_setup import free_port, insert_outbox, secret_file, short_dir, wait_until

from outboxd.config import Config, load_config
from outboxd.control.client import ControlClient
from outboxd.outbox import ensure_outbox
from outboxd.pennylane_simulator import Sandbox, SandboxHandle
from outboxd.secrets import ensure_key_file
from outboxd.shop_simulator import simulate_shop
from outboxd.store._db import to_text

DAEMON = Path(sys.executable).parent / "outboxd"
"""The console script: ``outboxd.cli`` is a package without ``__main__``."""

CLIENT_ID = "kash-click-e2e"
CLIENT_SECRET = "e2e-s3cret"


@dataclass
class Layout:
    """Files of one bridge on disk and the TOML config of the daemon (API tokens or OAuth per shop)."""

    root: Path
    handle: SandboxHandle
    shop_tokens: Mapping[str, str | None]
    """shop -> company API token; None: the shop connects through OAuth (the control API)."""
    request_timeout: float = 5.0
    rate_limit: tuple[int, float] = (100_000, 1.0)
    lease_seconds: float = 30.0
    shutdown_grace: float = 5.0
    backoff: tuple[float, float] = (0.2, 2.0)
    poll_interval: float = 0.02
    sockdir: Path = field(default_factory=short_dir)
    metrics_port: int = field(default_factory=free_port)
    callback_port: int = field(default_factory=free_port)
    hold_history: bool = False
    """Token shops: what the outbox holds at their first start is held as history (the daemon's default); False
    (most tests): it flows live."""

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

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def write(self) -> Layout:
        self.root.mkdir(parents=True, exist_ok=True)
        ensure_key_file(self.root / "token.key")
        ensure_outbox(self.outbox)
        secret_file(self.root / "client.secret", CLIENT_SECRET)
        redirect = f"http://127.0.0.1:{self.callback_port}/oauth/callback"
        self.handle.sandbox.register_oauth_app(CLIENT_ID, CLIENT_SECRET, [redirect])
        shops = []
        for shop_id, token in self.shop_tokens.items():
            if token is None:
                shops.append(f'[shops."{shop_id}"]\nname = "{shop_id}"\n')
            else:
                secret_file(self.root / f"{shop_id}.token", token)
                shops.append(f'[shops."{shop_id}"]\napi_token_file = "{shop_id}.token"\n')
                if not self.hold_history:
                    shops.append(f'[shops."{shop_id}".backfill]\noffer_on_connect = false\n')
        h = self.handle
        self.config_path.write_text(
            f"""[daemon]
outbox_database = "{self.outbox}"
state_database = "{self.state}"
control_socket = "{self.socket}"
metrics_listen = "127.0.0.1:{self.metrics_port}"
callback_port = {self.callback_port}
poll_interval = {self.poll_interval}
lease_seconds = {self.lease_seconds}
backoff_base = {self.backoff[0]}
backoff_cap = {self.backoff[1]}
shutdown_grace = {self.shutdown_grace}
log_format = "json"

[pennylane]
api_url = "{h.api_url}"
authorize_url = "{h.authorize_url}"
token_url = "{h.token_url}"
revoke_url = "{h.revoke_url}"
client_id = "{CLIENT_ID}"
client_secret_file = "client.secret"
request_timeout = {self.request_timeout}

[pennylane.rate_limit]
requests = {self.rate_limit[0]}
per_seconds = {self.rate_limit[1]}

[secrets]
token_key_file = "token.key"

"""
            + "\n".join(shops)
        )
        return self

    def config(self) -> Config:
        return load_config(self.config_path)

    def insert(self, rows: Iterable[Mapping[str, Any]]) -> int:
        return insert_outbox(self.outbox, rows)


class NotifySocket:
    """systemd's side of ``NOTIFY_SOCKET``: a datagram socket that keeps every message received."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "notify.sock"
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(self.path))
        self._sock.setblocking(False)
        self.messages: list[tuple[float, str]] = []

    def drain(self) -> list[str]:
        while True:
            try:
                data = self._sock.recv(4096)
            except BlockingIOError:
                break
            self.messages.append((time.monotonic(), data.decode()))
        return [text for _, text in self.messages]

    def lines(self) -> list[str]:
        return [line for text in self.drain() for line in text.splitlines()]

    def close(self) -> None:
        self._sock.close()
        self.path.unlink(missing_ok=True)


class DaemonProcess:
    """``outboxd run --config FILE`` as a child process, its log appended to ``root/daemon.log``."""

    def __init__(self, layout: Layout, *, env: Mapping[str, str] | None = None) -> None:
        self.layout = layout
        self.notify = NotifySocket(layout.sockdir)
        self.env = dict(env or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.layout.root / "daemon.log"

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.notify.messages.clear()
        env = {**os.environ, "NOTIFY_SOCKET": str(self.notify.path), **self.env}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(DAEMON), "run", "--config", str(self.layout.config_path)],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.layout.root,
            )  # fmt: skip
        self.starts += 1

    async def ready(self, within: float = 20.0) -> None:
        async def said_ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"daemon exited with {self.proc.returncode}:\n{self.log_tail()}")
            return "READY=1" in self.notify.lines()

        await wait_until(said_ready, within)

    async def start_ready(self, within: float = 20.0) -> None:
        self.start()
        await self.ready(within)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)

    async def terminate(self, within: float) -> int:
        """SIGTERM, then the exit code; fails if the process is still alive after ``within`` seconds."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await self.exited(within)

    async def exited(self, within: float) -> int:
        assert self.proc is not None
        proc = self.proc

        async def gone() -> bool:
            return proc.poll() is not None

        await wait_until(gone, within)
        return int(proc.returncode)

    async def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await self.exited(10)
            except AssertionError:
                self.kill9()
        self.notify.close()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class StateView:
    """Read-only queries on the daemon's state database, safe while the daemon runs (WAL)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if not self.path.exists():
            return []
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)
        try:
            return list(conn.execute(sql, params).fetchall())
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise
        finally:
            conn.close()

    def counts(self, shop_id: str) -> Counter[str]:
        rows = self._read("SELECT state, count(*) FROM deliveries WHERE shop_id = ? GROUP BY state", (shop_id,))
        return Counter(dict(rows))

    def leased_since(self, moment: dt.datetime) -> int:
        """Deliveries claimed after ``moment`` and still in flight."""
        sql = "SELECT count(*) FROM deliveries WHERE state = 'leased' AND updated_at > ?"
        return int(self._read(sql, (to_text(moment),))[0][0])

    def states(self, shop_id: str) -> dict[str, str]:
        """event_id -> delivery state."""
        return dict(self._read("SELECT event_id, state FROM deliveries WHERE shop_id = ?", (shop_id,)))  # type: ignore[arg-type]

    def failed(self, shop_id: str) -> list[tuple[str, str, str]]:
        """(event_id, error class, message) of each failed delivery."""
        rows = self._read(
            "SELECT event_id, last_error_class, last_error FROM deliveries WHERE shop_id = ? AND state = 'failed'",
            (shop_id,),
        )
        return [(str(a), str(b), str(c)) for a, b, c in rows]

    def connection_state(self, shop_id: str) -> str | None:
        rows = self._read("SELECT state FROM connections WHERE shop_id = ?", (shop_id,))
        return str(rows[0][0]) if rows else None

    def settled(self, shop_id: str, expected: int) -> bool:
        counts = self.counts(shop_id)
        return sum(counts.values()) >= expected and counts["delivered"] + counts["failed"] >= expected


# -- what the events say ----------------------------------------------------------------------------------------


def expected(rows: Iterable[Mapping[str, Any]], config: Config, shop_id: str) -> Expected:
    return expected_books(rows, config.shop_mapping(shop_id), shop_id)


def booked_pieces(sandbox: Sandbox, company_id: int) -> Counter[str]:
    return Counter(str(e.piece_number) for e in sandbox.entries(company_id))


def duplicates(sandbox: Sandbox, company_id: int) -> dict[str, int]:
    return {piece: n for piece, n in booked_pieces(sandbox, company_id).items() if n > 1}


def assert_exact(sandbox: Sandbox, company_id: int, want: Expected) -> None:
    """Every expected piece_number booked exactly once, nothing else, and the trial balance to the cent."""
    got = booked_pieces(sandbox, company_id)
    assert not duplicates(sandbox, company_id), f"duplicate entries: {duplicates(sandbox, company_id)}"
    missing = set(want.pieces) - set(got)
    extra = set(got) - set(want.pieces)
    assert not missing, f"{len(missing)} pieces never booked, e.g. {sorted(missing)[:5]}"
    assert not extra, f"{len(extra)} unexpected pieces, e.g. {sorted(extra)[:5]}"
    got_balance = folded(sandbox.trial_balance(company_id))
    diff = {n: (got_balance.get(n), want.balance.get(n)) for n in {*got_balance, *want.balance}
            if got_balance.get(n) != want.balance.get(n)}  # fmt: skip
    assert not diff, f"trial balance differs (account: simulator, rules engine): {diff}"


async def settle(
    state: StateView, counts: Mapping[str, int], within: float, daemon: DaemonProcess | None = None
) -> None:
    """Wait until every shop's deliveries are delivered or failed (as many as ``counts`` says)."""

    async def done() -> bool:
        if daemon is not None and daemon.proc is not None and daemon.proc.poll() is not None:
            raise AssertionError(f"daemon died ({daemon.proc.returncode}):\n{daemon.log_tail()}")
        return all(state.settled(shop, n) for shop, n in counts.items())

    try:
        await wait_until(done, within)
    except AssertionError:
        detail = {shop: dict(state.counts(shop)) for shop in counts}
        raise AssertionError(f"not settled within {within} s: {detail}, want {dict(counts)}") from None


async def sleep_briefly(seconds: float) -> None:
    """A chosen moment (kill points, a window of traffic under a fault), never a synchronisation."""
    await asyncio.sleep(seconds)


def by_day(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows split by business day (the reference snapshot goes with the first day), in outbox order."""
    days: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        days.setdefault(row["occurred_at"][:10], []).append(row)
    return list(days.values())


# -- a test's world -------------------------------------------------------------------------------------------

SHOPS = ("s1", "s2")


@dataclass
class World:
    sandbox: Sandbox
    handle: SandboxHandle
    companies: dict[str, int]
    layout: Layout
    daemon: DaemonProcess
    state: StateView

    def history(self, shop_id: str, *, days: int, orders_per_day: int = 6, seed: int = 1, on_account: float = 0.0,
                variety: bool = False) -> list[dict[str, Any]]:  # fmt: skip
        start = dt.date(dt.date.today().year, 1, 5)
        return list(simulate_shop(shop_id, days=days, orders_per_day=orders_per_day, registers=2, seed=seed,
                                  start=start, on_account=on_account, variety=variety))  # fmt: skip

    def expected(self, shop_id: str, rows: list[dict[str, Any]]) -> Expected:
        return expected(rows, self.layout.config(), shop_id)

    def control(self) -> ControlClient:
        return ControlClient(self.layout.socket, actor="e2e")

    async def storm(self, stop: asyncio.Event) -> None:
        """Hammer GET /me with each token shop's token until ``stop``, as the company's other integrations would:
        the rate limit is eaten where the daemon's own pacing cannot foresee it."""
        tokens = [token for token in self.layout.shop_tokens.values() if token is not None]
        async with aiohttp.ClientSession() as session:
            while not stop.is_set():
                for token in tokens:
                    headers = {"Authorization": f"Bearer {token}"}
                    async with session.get(self.handle.api_url + "/me", headers=headers) as response:
                        await response.read()
                await asyncio.sleep(0.02)

    async def connect_oauth(self, shop_id: str) -> dict[str, Any]:
        """The operator's OAuth connect through the control API; the 'browser' is ``sandbox.approve``."""
        async with self.control() as client:
            started = await client.connect_start(shop_id)
            redirect = self.sandbox.approve(str(started["authorize_url"]), self.companies[shop_id])
            return dict(await client.connect_complete(shop_id, redirect))


WorldFactory = Callable[..., Awaitable[World]]


async def scrape(url: str) -> dict[str, float]:
    """The metrics page as ``{'name{labels}': value}`` (comments left out)."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        text = await response.text()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def total(metrics: Mapping[str, float], name: str, **labels: str) -> float:
    """Sum of a metric's series whose labels include ``labels``."""
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(v for k, v in metrics.items() if k.split("{")[0] == name and all(w in k for w in wanted))
