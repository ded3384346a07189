"""The install, upgrade and backup paths of docs/operations.md, from a fresh clone, with the commands it gives.

The wheel is built from a clone of the committed tree (what an operator checks out) and installed into a fresh
virtualenv with ``--no-deps``: its dependencies come from this test's own environment through a ``.pth`` line,
so the test runs offline-fast while the installed ``outboxd`` is the wheel's, never the editable checkout.
Building the wheel fetches setuptools into pip's isolated build environment (PyPI or the local mirror).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from pathlib import Path

import aiohttp
import aiosqlite
import pytest

from outboxd.contract import ddl
from outboxd.control.client import SOCKET_ENV, ControlClient
from outboxd.exceptions import ControlError
from outboxd.pennylane import BRIDGE_SCOPES
from outboxd.pennylane_simulator import Sandbox, SandboxHandle, run_sandbox
from outboxd.store import apply_migrations, known_migrations, open_store

ROOT = Path(__file__).resolve().parents[2]
NEW_KEY = "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"


def sh(*argv: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{argv}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``git clone``, ``pip wheel --no-deps -w dist .``, a fresh venv, ``pip install dist/outboxd-*.whl``."""
    work = tmp_path_factory.mktemp("install")
    clone = work / "outboxd"
    sh("git", "clone", "--quiet", "--depth", "1", f"file://{ROOT}", clone)
    sh(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", "dist", ".", cwd=clone)
    wheels = list((clone / "dist").glob("outboxd-*-py3-none-any.whl"))
    assert len(wheels) == 1, wheels
    target = work / "venv"
    sh(sys.executable, "-m", "venv", "--without-pip", target)
    python = target / "bin" / "python"
    sh(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index", wheels[0])
    site = Path(sh(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=work).strip())
    (site / "zz_outboxd_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = sh(python, "-c", "import outboxd; print(outboxd.__file__)", cwd=work).strip()
    assert where.startswith(str(site)), f"outboxd imported from {where}, not from the installed wheel"
    shutil.copy(clone / "config" / "outboxd.example.toml", work / "outboxd.example.toml")
    return target


def environment(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CREDENTIALS_DIRECTORY", "VIRTUAL_ENV", "NOTIFY_SOCKET")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


class Site:
    """/etc/outboxd, /var/lib/outboxd, /run/outboxd and Kash.Click's outbox, under one temporary directory."""

    def __init__(
        self, root: Path, run_dir: Path, venv: Path, pennylane: SandboxHandle, *, configured_token: bool
    ) -> None:
        self.root, self.venv, self.env = root, venv, environment(venv)
        self.etc, self.credentials = root / "etc", root / "etc" / "credentials"
        self.state = root / "lib" / "state.sqlite3"
        self.tokens = root / "lib" / "tokens"
        self.outbox = root / "kashclick" / "outbox.sqlite3"
        self.socket = run_dir / "control.sock"
        self.env[SOCKET_ENV] = str(self.socket)  # stands for ctl's default, /run/outboxd/control.sock
        for directory in (self.credentials, self.state.parent, self.tokens, self.outbox.parent):
            directory.mkdir(mode=0o700, parents=True)
        self.config = self.etc / "outboxd.toml"
        self.callback_port = free_port()
        text = (venv.parent / "outboxd.example.toml").read_text()
        for old, new in {
            '"/var/lib/kashclick/outbox.sqlite3"': f'"{self.outbox}"',
            '"/var/lib/outboxd/state.sqlite3"': f'"{self.state}"',
            '"/var/lib/outboxd/tokens"': f'"{self.tokens}"',
            '"/run/outboxd/control.sock"': f'"{self.socket}"',
            'metrics_listen = "127.0.0.1:9464"': "metrics_listen = false",
            "callback_port = 8765": f"callback_port = {self.callback_port}",
            '"https://app.pennylane.com/api/external/v2"': f'"{pennylane.api_url}"',
            '"https://app.pennylane.com/oauth/authorize"': f'"{pennylane.authorize_url}"',
            '"https://app.pennylane.com/oauth/token"': f'"{pennylane.token_url}"',
            '"https://app.pennylane.com/oauth/revoke"': f'"{pennylane.revoke_url}"',
        }.items():
            assert old in text, f"the example configuration changed: {old} not found"
            text = text.replace(old, new)
        if configured_token:  # else the example's OAuth shop, connected after the start (First connect)
            text = text.replace('# api_token_file = "boulangerie-42.token"', 'api_token_file = "boulangerie-42.token"')
        self.config.write_text(text)
        with closing(sqlite3.connect(self.outbox)) as conn:  # Kash.Click's side
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(ddl("sqlite"))

    def secrets(self, token: str | None) -> None:
        """Step 4 of Install: umask 077, the client secret, a new Fernet key, the company API token if configured."""
        with umask_077():
            (self.credentials / "client_secret").write_text("THE-CLIENT-SECRET")
            key = sh(self.venv / "bin" / "python", "-c", NEW_KEY, cwd=self.root, env=self.env)
            (self.credentials / "token.key").write_text(key)
            if token is not None:
                (self.credentials / "boulangerie-42.token").write_text(token)

    async def spawn(self, *args: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            self.venv / "bin" / "outboxd", *args, env=self.env, cwd=self.root, stdin=-1, stdout=-1, stderr=-1
        )

    async def outboxd(self, *args: str) -> tuple[int, str, str]:
        process = await self.spawn(*args)
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    async def doctor(self, *extra: str) -> tuple[int, dict[str, str]]:
        code, checks = await self.doctor_report(*extra)
        return code, {check: status for check, (status, _) in checks.items()}

    async def doctor_report(self, *extra: str) -> tuple[int, dict[str, tuple[str, str]]]:
        """The exit code and, per check, its status and summary; credentials found beside the config, as documented."""
        code, out, err = await self.outboxd("doctor", "--config", str(self.config), "--json", *extra)
        assert out, err
        return code, {c["check"]: (c["status"], c["summary"]) for c in json.loads(out)["checks"]}

    @asynccontextmanager
    async def daemon(self) -> AsyncIterator[None]:
        """`outboxd run` from the install, its credentials where systemd puts them; stopped by SIGTERM, exit 0."""
        env = self.env | {"CREDENTIALS_DIRECTORY": str(self.credentials)}
        daemon = await asyncio.create_subprocess_exec(
            self.venv / "bin" / "outboxd", "run", "--config", str(self.config), env=env, stdout=-1, stderr=-1
        )
        try:
            await wait_for_daemon(self.socket, daemon)
            yield
            daemon.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(daemon.wait(), 30) == 0
        finally:
            if daemon.returncode is None:
                daemon.kill()
                await daemon.wait()


@contextmanager
def umask_077() -> Iterator[None]:
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def run_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="oxd-run-", dir="/tmp"))  # a socket path must stay short
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxHandle]:
    async with run_sandbox(Sandbox()) as handle:
        yield handle


@pytest.fixture
def company_token(sandbox: SandboxHandle) -> str:
    """A company API token of the shop's Pennylane company, with every scope the bridge needs."""
    company = sandbox.sandbox.add_company("Boulangerie du Marché")
    return sandbox.sandbox.issue_api_token(company.id, BRIDGE_SCOPES)


@pytest.fixture
def site(tmp_path: Path, run_dir: Path, venv: Path, sandbox: SandboxHandle, company_token: str) -> Site:
    """The shop's company API token in the configuration (api_token_file, a credential)."""
    prepared = Site(tmp_path, run_dir, venv, sandbox, configured_token=True)
    prepared.secrets(company_token)
    return prepared


@pytest.fixture
def unconnected_site(tmp_path: Path, run_dir: Path, venv: Path, sandbox: SandboxHandle) -> Site:
    """The example configuration's shop as it comes: no token configured, connected once the daemon runs."""
    prepared = Site(tmp_path, run_dir, venv, sandbox, configured_token=False)
    prepared.secrets(None)
    return prepared


async def test_the_installed_command_offers_every_operator_command(site: Site) -> None:
    code, out, _ = await site.outboxd("--help")
    assert code == 0
    for command in ("run", "tui", "ctl", "doctor"):
        assert f"    {command} " in out


async def test_doctor_on_a_fresh_install_reports_what_is_expected(site: Site) -> None:
    code, checks = await site.doctor()
    assert code == 0
    assert checks == {
        "config": "ok",
        "state_database": "warn",  # created by the first start
        "migrations": "skip",
        "outbox": "ok",
        "secret.client_secret": "ok",
        "secret.token_key": "ok",
        "secret.shop.boulangerie-42": "ok",
        "stored_tokens": "ok",
        "socket": "warn",  # not started yet
        "listeners": "ok",
        "disk": "ok",
        "shop.boulangerie-42": "ok",
        "clock": "ok",
    }


async def test_the_first_connect_with_a_company_api_token_as_documented(
    unconnected_site: Site, sandbox: SandboxHandle, company_token: str
) -> None:
    """Install step 6 from a shell: the token in a 0600 file the daemon reads, `outboxd ctl token`, the file goes."""
    site = unconnected_site
    code, checks = await site.doctor()
    assert (code, checks["shop.boulangerie-42"]) == (0, "warn")  # not connected: its events wait
    token_file = site.tokens / "boulangerie-42.token"  # /var/lib/outboxd/tokens, secrets.token_files_directory
    async with site.daemon():
        with umask_077():
            token_file.write_text(company_token)
        code, out, err = await site.outboxd("ctl", "token", "boulangerie-42", token_file.name)
        assert code == 0, err
        assert json.loads(out)["state"] == "connected"
        token_file.unlink()  # the daemon keeps the token, encrypted, in the state database
        code, report = await site.doctor_report()
        assert code == 0, report
        [company] = sandbox.sandbox.companies.values()
        assert report["shop.boulangerie-42"] == ("ok", f"company Boulangerie du Marché ({company.id}), scopes ok")
        assert report["stored_tokens"] == ("ok", "the key decrypts the tokens of 1 shop(s)")
    async with site.daemon():  # a restart reconnects from the state database alone
        code, out, err = await site.outboxd("ctl", "--json", "status")
        assert code == 0, err
        assert [s["connection"]["state"] for s in json.loads(out)["shops"]] == ["connected"]


@pytest.mark.parametrize("browser", ["reaches-the-callback", "pasted"])
async def test_the_first_connect_by_oauth_as_documented(
    unconnected_site: Site, sandbox: SandboxHandle, browser: str
) -> None:
    """Install step 6 from a shell: `outboxd ctl connect`, the person approves in Pennylane, then either the
    browser reaches the daemon's callback and Enter is pressed, or the address it landed on is pasted."""
    site = unconnected_site
    company = sandbox.sandbox.add_company("Boulangerie du Marché")
    redirect_uri = f"http://127.0.0.1:{site.callback_port}/oauth/callback"  # the example's: callback_host/port/path
    sandbox.sandbox.register_oauth_app("kashclick-outboxd", "THE-CLIENT-SECRET", [redirect_uri])
    async with site.daemon():
        ctl = await site.spawn("ctl", "connect", "boulangerie-42")
        assert ctl.stdout is not None
        line = b""
        while not line.startswith(b"  http"):
            line = await asyncio.wait_for(ctl.stdout.readline(), 30)
            assert line, (await ctl.communicate())[1]
        landed = sandbox.sandbox.approve(line.decode().strip(), company.id)  # "Authorize" clicked in Pennylane
        if browser == "reaches-the-callback":
            async with aiohttp.ClientSession() as browsing, browsing.get(landed) as page:
                assert page.status == 200, await page.text()
            pasted = ""
        else:
            pasted = landed
        out, err = await asyncio.wait_for(ctl.communicate(f"{pasted}\n".encode()), 30)
        assert ctl.returncode == 0, err.decode()
        assert "redirect URL> ✓ connected, Boulangerie du Marché, expires in " in out.decode()  # not "pending"
        code, report = await site.doctor_report()
        assert code == 0, report
        assert report["shop.boulangerie-42"] == ("ok", f"company Boulangerie du Marché ({company.id}), scopes ok")


async def test_doctor_fails_a_secret_others_can_read(site: Site) -> None:
    (site.credentials / "token.key").chmod(0o644)
    code, checks = await site.doctor("--offline")
    assert code == 1
    assert checks["secret.token_key"] == "fail"


def restore(backup: Path, state: Path) -> None:
    """The Restore steps of docs/operations.md, with the daemon stopped: drop -wal/-shm, install the copy."""
    for stale in (state, Path(f"{state}-wal"), Path(f"{state}-shm")):
        stale.unlink(missing_ok=True)
    sh("install", "-m", "0600", backup, state)


async def make_state_one_migration_behind(path: Path) -> None:
    async with aiosqlite.connect(path) as conn:
        await apply_migrations(conn, known_migrations()[:-1])


async def test_an_upgrade_shows_the_pending_migration_until_the_daemon_applies_it(site: Site) -> None:
    await make_state_one_migration_behind(site.state)
    newest = known_migrations()[-1]
    code, report = await site.doctor_report("--offline")
    pending = f"1 pending ({newest.version:04d}_{newest.name}): applied at the next start"
    assert (code, report["migrations"]) == (0, ("warn", pending))
    async with site.daemon():
        code, report = await site.doctor_report()
        assert report["socket"][0] == "ok"
        assert report["migrations"] == ("ok", f"current: version {newest.version} ({newest.name})")
    code, checks = await site.doctor("--offline")
    assert (code, checks["migrations"], checks["socket"]) == (0, "ok", "warn")


async def wait_for_daemon(socket_path: Path, daemon: asyncio.subprocess.Process) -> None:
    async with ControlClient(socket_path, actor="test", timeout=2) as client:
        for _ in range(200):
            if daemon.returncode is not None:
                _, err = await daemon.communicate()
                pytest.fail(f"outboxd run exited {daemon.returncode}: {err.decode()[-2000:]}")
            try:
                await client.status()
                return
            except ControlError:
                await asyncio.sleep(0.1)
    pytest.fail("outboxd run did not answer on its control socket within 20 s")


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 command-line shell is not installed")
@pytest.mark.parametrize("command", ["VACUUM INTO '{backup}'", ".backup '{backup}'"])
async def test_an_online_backup_while_writing_restores_consistent(site: Site, command: str) -> None:
    async with open_store(site.state, owner="test"):
        pass
    stop = threading.Event()
    written = threading.Semaphore(0)

    def writer() -> None:  # the daemon writing audit rows, one short transaction each
        with closing(sqlite3.connect(site.state, isolation_level=None, timeout=5)) as conn:
            while not stop.is_set():
                conn.execute(
                    "INSERT INTO audit (at, actor, action) VALUES (strftime('%Y-%m-%dT%H:%M:%fZ','now'), 'x', 'y')"
                )
                written.release()

    thread = threading.Thread(target=writer, name="state-writer")
    thread.start()
    try:
        for _ in range(50):
            await asyncio.to_thread(written.acquire)
        backup = site.root / "backups" / "state-backup.sqlite3"
        backup.parent.mkdir(mode=0o700)
        await asyncio.to_thread(sh, "sqlite3", site.state, command.format(backup=backup))
        assert await asyncio.to_thread(sh, "sqlite3", backup, "PRAGMA integrity_check") == "ok\n"
        for _ in range(50):  # the daemon kept writing during and after the copy
            await asyncio.to_thread(written.acquire)
    finally:
        stop.set()
        thread.join()
    with closing(sqlite3.connect(site.state)) as conn:
        live = conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
    restored = site.state
    restore(backup, restored)
    with closing(sqlite3.connect(restored)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        count, first, last = conn.execute("SELECT COUNT(*), MIN(id), MAX(id) FROM audit").fetchone()
    assert 50 <= count < live
    assert (first, last) == (1, count)  # a snapshot: every row up to a point, none missing
    code, checks = await site.doctor("--offline")
    assert (code, checks["state_database"], checks["migrations"]) == (0, "ok", "ok")
