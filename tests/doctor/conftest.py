"""A complete, healthy installation in tmp_path: configuration, secrets, both databases, the simulator for /me.

Each failure test breaks one thing of it and checks that the doctor names it and its fix.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from outboxd.contract import ddl
from outboxd.doctor import CheckResult, Status, check_state_database
from outboxd.pennylane import BRIDGE_SCOPES
from outboxd.pennylane_simulator import Sandbox, SandboxHandle, run_sandbox
from outboxd.secrets import ensure_key_file
from outboxd.store import open_store

SHOP = "shop-1"


@dataclass
class Install:
    """The files of one installation; ``write_config`` (re)writes the TOML from the current values."""

    root: Path
    socket: Path
    api_url: str
    sandbox: Sandbox
    company_id: int
    extra_shop: str = ""
    config: Path = field(init=False)

    def __post_init__(self) -> None:
        self.config = self.root / "outboxd.toml"

    @property
    def state(self) -> Path:
        return self.root / "state.sqlite3"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox.sqlite3"

    @property
    def key(self) -> Path:
        return self.root / "token.key"

    @property
    def token_file(self) -> Path:
        return self.root / f"{SHOP}.token"

    def write_token(self, token: str) -> None:
        self.token_file.unlink(missing_ok=True)
        self.token_file.write_text(token + "\n")
        self.token_file.chmod(0o600)

    def write_config(self) -> Path:
        self.config.write_text(
            f"""
[daemon]
outbox_database = "{self.outbox}"
state_database = "{self.state}"
control_socket = "{self.socket}"
metrics_listen = false

[pennylane]
api_url = "{self.api_url}"
client_secret_file = false

[secrets]
token_key_file = "{self.key}"

[shops."{SHOP}"]
api_token_file = "{self.token_file}"
{self.extra_shop}
"""
        )
        return self.config


def make_outbox(path: Path, *, with_table: bool = True) -> None:
    """Kash.Click's outbox file: WAL mode and the contract's DDL (or no table at all)."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        if with_table:
            conn.executescript(ddl("sqlite"))


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    """A short directory for Unix sockets (sun_path holds ~104 bytes, tmp_path can be longer)."""
    path = Path(tempfile.mkdtemp(prefix="oxd-doc-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxHandle]:
    async with run_sandbox(Sandbox()) as handle:
        yield handle


@pytest.fixture
async def install(tmp_path: Path, socket_dir: Path, sandbox: SandboxHandle) -> Install:
    """A healthy installation whose shop uses a company API token with every scope the bridge needs."""
    company = sandbox.sandbox.add_company("Boulangerie Martin")
    setup = Install(tmp_path, socket_dir / "control.sock", sandbox.api_url, sandbox.sandbox, company.id)
    setup.write_token(sandbox.sandbox.issue_api_token(company.id, BRIDGE_SCOPES))
    ensure_key_file(setup.key)
    make_outbox(setup.outbox)
    async with open_store(setup.state, owner="doctor-test"):
        pass  # the schema, as the first `outboxd run` makes it (entering the store migrates)
    setup.write_config()
    return setup


@asynccontextmanager
async def daemon_socket(path: Path) -> AsyncIterator[None]:
    """A control socket that answers GET /v1/status as a running daemon would (the doctor asks nothing else)."""

    async def status(request: web.Request) -> web.Response:
        return web.json_response({"shops": [{"shop_id": SHOP}]})

    app = web.Application()
    app.router.add_get("/v1/status", status)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.UnixSite(runner, str(path)).start()
        yield
    finally:
        await runner.cleanup()


@dataclass
class ServiceUser:
    """A user whose writes file modes stop, as they stop the service's: this process, or ``nobody`` if it is root.

    Root writes into a 0400 file all the same, so as root (CI) a check runs in a child process dropped to
    ``nobody``, on files in ``directory`` (``nobody``'s own, under /tmp: tmp_path's parents are root's 0700).
    """

    directory: Path
    user: pwd.struct_passwd | None

    def own(self, path: Path) -> None:
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def check_state_database(self, path: Path) -> CheckResult:
        if self.user is None:
            return check_state_database(path)
        child = (
            "import json, sys; from pathlib import Path; from outboxd.doctor import check_state_database; "
            "r = check_state_database(Path(sys.argv[1])); print(json.dumps([r.status.value, r.summary, r.fix]))"
        )
        try:
            done = subprocess.run(
                [sys.executable, "-c", child, str(path)],
                user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[], cwd=self.directory,
                capture_output=True, text=True, check=False, timeout=60,
            )  # fmt: skip
        except PermissionError:  # a venv symlinked into root's 0700 home (dev.py makes its venv with --copies)
            pytest.skip(f"`{self.user.pw_name}` cannot run {sys.executable}: make the venv with --copies")
        assert done.returncode == 0, done.stderr
        status, summary, fix = json.loads(done.stdout)
        return CheckResult("state_database", "state database", Status(status), summary, fix)


@pytest.fixture
def service_user() -> Iterator[ServiceUser]:
    directory = Path(tempfile.mkdtemp(prefix="oxd-svc-", dir="/tmp"))
    try:
        user = None
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("nobody")
            except KeyError:
                pytest.skip("running as root without a user `nobody` to drop to: file modes do not stop root")
            os.chown(directory, user.pw_uid, user.pw_gid)
        yield ServiceUser(directory, user)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
