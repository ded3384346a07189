"""The TUI against the real thing: the simulator, a bridge laid out on disk, the daemon in-process or as a process,
and tmux driving the real ``outboxd tui``.

Shop ``s1`` is connected by a company API token from the configuration; shop ``s2`` has nothing and connects
through OAuth during a test. Both companies have their previous and current fiscal years open, so a history of a
few days can always be backfilled (early January included).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge_setup import free_port, insert_outbox, secret_file, short_dir, wait_until

from outboxd.config import load_config
from outboxd.control.client import ControlClient
from outboxd.daemon import Daemon
from outboxd.daemon.operations import DaemonControl
from outboxd.outbox import ensure_outbox
from outboxd.pennylane_simulator import Sandbox, SandboxHandle, run_sandbox
from outboxd.secrets import ensure_key_file
from outboxd.shop_simulator import simulate_shop
from tui.app import OutboxdApp

OUTBOXD = Path(sys.executable).parent / "outboxd"
CLIENT_ID = "kash-click-tui"
CLIENT_SECRET = "tui-s3cret"
COMPANIES = {"s1": "Boulangerie Martin", "s2": "Cave Durand"}
VAT_RATES = ["20", "10", "5.5", "2.1", "0"]


def _toml(value: object) -> str:
    return json.dumps(value)  # JSON strings and lists are TOML values


@dataclass
class Bench:
    """One simulator, its two companies and a bridge's files; the daemon is started by the caller."""

    sandbox: Sandbox
    handle: SandboxHandle
    companies: dict[str, int]
    root: Path
    sockdir: Path
    callback_port: int

    @property
    def socket(self) -> Path:
        return self.sockdir / "control.sock"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox.sqlite3"

    @property
    def config(self) -> Path:
        return self.root / "outboxd.toml"

    def write_config(self, vat_rates: list[str] = VAT_RATES) -> Path:
        token = secret_file(self.root / "s1.token", self.sandbox.issue_api_token(self.companies["s1"]))
        h = self.handle
        self.config.write_text(f"""[daemon]
outbox_database = "outbox.sqlite3"
state_database = "state.sqlite3"
control_socket = {_toml(str(self.socket))}
metrics_listen = false
callback_port = {self.callback_port}
poll_interval = 0.02
backoff_base = 0.05
backoff_cap = 0.2
shutdown_grace = 3.0
log_format = "json"

[pennylane]
api_url = {_toml(h.api_url)}
authorize_url = {_toml(h.authorize_url)}
token_url = {_toml(h.token_url)}
revoke_url = {_toml(h.revoke_url)}
client_id = {_toml(CLIENT_ID)}
client_secret_file = "client.secret"

[pennylane.rate_limit]
requests = 1000
per_seconds = 1.0

[secrets]
token_key_file = "token.key"

[mapping]
vat_rates = {_toml(vat_rates)}

[shops.s1]
name = "Paris 1"
api_token_file = {_toml(str(token))}
backfill = {{ offer_on_connect = false }}

[shops.s2]
name = "Lyon 2"
""")
        return self.config

    def insert(self, rows: list[dict[str, Any]]) -> None:
        insert_outbox(self.outbox, rows)


def history(shop_id: str, days: int = 2, orders_per_day: int = 6) -> list[dict[str, Any]]:
    """A few days of tickets ending yesterday (the simulator's shop, fixed seed)."""
    start = dt.date.today() - dt.timedelta(days=days)
    return list(simulate_shop(shop_id, days=days, orders_per_day=orders_per_day, registers=2, seed=7, start=start))


@contextlib.asynccontextmanager
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    """The simulator on loopback and a bridge's files (config, secrets, empty outbox); removed afterwards."""
    sandbox = Sandbox(rate_limit=None)
    year = dt.date.today().year
    years = [(f"{y}-01-01", f"{y}-12-31", "open") for y in (year - 1, year)]
    companies = {shop: sandbox.add_company(name, fiscal_years=years).id for shop, name in COMPANIES.items()}
    sockdir = short_dir()
    try:
        async with run_sandbox(sandbox) as handle:
            b = Bench(sandbox, handle, companies, tmp_path, sockdir, free_port())
            sandbox.register_oauth_app(CLIENT_ID, CLIENT_SECRET, [f"http://127.0.0.1:{b.callback_port}/oauth/callback"])
            secret_file(tmp_path / "client.secret", CLIENT_SECRET)
            ensure_key_file(tmp_path / "token.key")
            ensure_outbox(b.outbox)
            b.write_config()
            yield b
    finally:
        shutil.rmtree(sockdir, ignore_errors=True)


@contextlib.asynccontextmanager
async def daemon_in_process(b: Bench) -> AsyncIterator[Daemon]:
    """``Daemon(control_factory=DaemonControl)`` in this event loop, ready; stopped and awaited afterwards."""
    daemon = Daemon(load_config(b.config), control_factory=DaemonControl)
    task = asyncio.create_task(daemon.run(), name="daemon")
    try:
        await asyncio.wait_for(daemon.ready.wait(), 15)
        yield daemon
    finally:
        daemon.stop()
        await asyncio.wait_for(task, 20)


@dataclass
class Real:
    """A bench with the daemon running in-process, and a control client of the tests' own."""

    bench: Bench
    daemon: Daemon
    client: ControlClient

    def operator_app(self) -> OutboxdApp:
        """The dashboard as an operator opens it, on the daemon's socket."""
        return OutboxdApp(ControlClient(self.bench.socket, actor="operator"))


@contextlib.asynccontextmanager
async def real_world(tmp_path: Path, *, daemon_extra: str = "") -> AsyncIterator[Real]:
    """``daemon_extra``: lines added to the configuration's [daemon] table (``max_attempts = 2``)."""
    async with bench(tmp_path) as b:
        if daemon_extra:
            b.config.write_text(b.config.read_text().replace("[daemon]\n", f"[daemon]\n{daemon_extra}\n"))
        async with daemon_in_process(b) as daemon, ControlClient(b.socket, actor="t") as client:
            yield Real(b, daemon, client)


@contextlib.asynccontextmanager
async def daemon_process(b: Bench) -> AsyncIterator[asyncio.subprocess.Process]:
    """``outboxd run --config FILE`` as a process of its own (log in the bench root), ready; SIGTERM then kill."""
    with (b.root / "daemon.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            str(OUTBOXD), "run", "--config", str(b.config),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        await _wait_ready(process, b)
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _wait_ready(process: asyncio.subprocess.Process, b: Bench, within: float = 20.0) -> None:
    async with ControlClient(b.socket, timeout=2.0) as client:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise AssertionError(f"the daemon exited at start:\n{(b.root / 'daemon.log').read_text()[-3000:]}")
            with contextlib.suppress(Exception):
                if (await client.status())["daemon"]["ready"]:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError("the daemon was not ready in time")


async def until(check: Callable[[], Awaitable[bool]], within: float = 20.0, what: str = "condition") -> None:
    """``wait_until`` with this world's shorter default bound."""
    await wait_until(check, within, what)


TERMINAL = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "COLORTERM": ""}
"""The terminal the tmux tests run the TUI in: 256 colours, UTF-8, no truecolor."""


class Tmux:
    """One detached tmux session on a private server socket (``-L``): never the user's own tmux."""

    def __init__(self, name: str, width: int = 100, height: int = 30) -> None:
        self.server = f"oxt-{os.getpid()}-{name}"
        self.name = name
        self.size = (width, height)

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.server, *args], capture_output=True, text=True, timeout=10)
        if done.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def start(self, command: list[str], env: dict[str, str]) -> None:
        exports = [f"{k}={v}" for k, v in env.items()]
        self._tmux("new-session", "-d", "-s", self.name, "-x", str(self.size[0]), "-y", str(self.size[1]),
                   "env", *exports, *command)  # fmt: skip
        self._tmux("set-option", "-t", self.name, "remain-on-exit", "on")

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.name, *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", self.name, "-l", text)

    def paste(self, text: str) -> None:
        """As a terminal pastes: a bracketed paste (the application asked for it), not keys one by one."""
        self._tmux("set-buffer", "--", text)
        self._tmux("paste-buffer", "-p", "-t", self.name)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def screen_escapes(self) -> str:
        """The screen with its attributes and colours as escape sequences."""
        return self._tmux("capture-pane", "-p", "-e", "-t", self.name)

    async def wait_for(self, *texts: str, within: float = 20.0) -> str:
        """The screen once every one of ``texts`` is on it (polled every 50 ms); the screen in the failure."""
        deadline = time.monotonic() + within
        while True:
            screen = self.screen()
            if all(t in screen for t in texts):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{texts} not on the screen within {within} s:\n{screen}")
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.server, "kill-server"], capture_output=True, timeout=10, check=False)
