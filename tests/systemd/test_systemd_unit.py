"""The unit file passes systemd's own checks, and the interpreter fits MemoryDenyWriteExecute=yes."""

from __future__ import annotations

import ctypes
import json
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import tomllib
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"
UNIT = SYSTEMD / "outboxd.service"
MAX_EXPOSURE = 2.0

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not installed (.ci/run installs the systemd package)"
)


def _analyze(*args: str) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run([ANALYZE, *args], capture_output=True, text=True, timeout=60, check=False)


@needs_analyze
def test_exposure_level_is_at_most_2():
    result = _analyze("security", "--offline=true", str(UNIT))
    assert result.returncode == 0, result.stderr
    found = re.search(r"Overall exposure level for outboxd\.service: (\d+\.\d+)", result.stdout)
    assert found, result.stdout
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout
    # the same bound through systemd's own gate (the threshold is in tenths), as a CI script would use it
    gate = _analyze("security", "--offline=true", f"--threshold={int(MAX_EXPOSURE * 10)}", str(UNIT))
    assert gate.returncode == 0, gate.stdout


@needs_analyze
def test_hardening_the_unit_promises_is_recognised():
    result = _analyze("security", "--offline=true", "--json=short", str(UNIT))
    assert result.returncode == 0, result.stderr

    settings = {item["name"]: item["set"] for item in json.loads(result.stdout)}
    for name in (
        "MemoryDenyWriteExecute=",
        "NoNewPrivileges=",
        "ProtectSystem=",
        "RestrictAddressFamilies=~AF_NETLINK",
        "SystemCallFilter=~@privileged",
        "SystemCallFilter=~@resources",
        "CapabilityBoundingSet=~CAP_SYS_ADMIN",
    ):
        assert settings[name], name
    # no private user namespace: the control socket's peer credentials must name the operator (SO_PEERCRED)
    assert not settings["PrivateUsers="]


@needs_analyze
def test_verify_is_clean(tmp_path):
    # verify refuses an ExecStart binary that does not exist, and /usr/bin/outboxd exists only once installed:
    # check a copy pointing at /bin/true, every other line unchanged.
    text = UNIT.read_text()
    assert "\nExecStart=/usr/bin/outboxd run --config /etc/outboxd/outboxd.toml\n" in text
    copy = tmp_path / "outboxd.service"
    copy.write_text(text.replace("ExecStart=/usr/bin/outboxd run", "ExecStart=/bin/true run"))
    result = _analyze("verify", str(copy))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_memory_is_bounded_for_the_whole_service():
    text = UNIT.read_text()
    high = re.search(r"^MemoryHigh=(\d+)M$", text, re.MULTILINE)
    most = re.search(r"^MemoryMax=(\d+)M$", text, re.MULTILINE)
    assert high
    assert most
    assert int(high.group(1)) < int(most.group(1))


def test_stop_timeout_leaves_room_for_the_graceful_shutdown():
    from outboxd.config import Config

    stop = re.search(r"^TimeoutStopSec=(\d+)$", UNIT.read_text(), re.MULTILINE)
    assert stop
    assert int(stop.group(1)) > Config().daemon.shutdown_grace + 5


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="systemd-sysusers is not installed")
def test_sysusers_creates_the_service_user(tmp_path):
    (tmp_path / "etc").mkdir()
    subprocess.run(
        ["systemd-sysusers", f"--root={tmp_path}", str(SYSTEMD / "outboxd.sysusers.conf")],
        capture_output=True,
        check=True,
        timeout=30,
    )
    assert re.search(r"^outboxd:x:\d+:\d+:.*:/var/lib/outboxd:", (tmp_path / "etc/passwd").read_text(), re.M)
    assert re.search(r"^outboxd:x:\d+:", (tmp_path / "etc/group").read_text(), re.M)


@pytest.mark.skipif(shutil.which("systemd-tmpfiles") is None, reason="systemd-tmpfiles is not installed")
def test_tmpfiles_creates_a_root_only_credentials_directory(tmp_path):
    subprocess.run(
        ["systemd-tmpfiles", f"--root={tmp_path}", "--create", str(SYSTEMD / "outboxd.tmpfiles.conf")],
        capture_output=True,
        check=True,
        timeout=30,
    )
    credentials = tmp_path / "etc/outboxd/credentials"
    assert credentials.is_dir()
    assert credentials.stat().st_mode & 0o777 == 0o700


def test_interpreter_has_no_jit():
    # MemoryDenyWriteExecute=yes forbids writable+executable mappings; CPython's JIT (3.13+, opt-in) needs them.
    assert "--enable-experimental-jit" not in (sysconfig.get_config_var("CONFIG_ARGS") or "")


PR_SET_MDWE, PR_GET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 66, 1


def _kernel_has_mdwe() -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(PR_GET_MDWE, 0, 0, 0, 0) >= 0)


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _kernel_has_mdwe(), reason="needs Linux >= 6.3")
def test_daemon_code_runs_with_memory_deny_write_execute(tmp_path):
    # The kernel's own W^X switch (prctl PR_SET_MDWE) refuses what MemoryDenyWriteExecute=yes refuses: a
    # child sets it, then loads every command (outboxd --help imports them all) and exercises the native
    # libraries the daemon uses. A library that maps writable code would die here rather than in production.
    script = textwrap.dedent(
        f"""
        import ctypes, sys
        libc = ctypes.CDLL(None, use_errno=True)
        assert libc.prctl({PR_SET_MDWE}, {PR_MDWE_REFUSE_EXEC_GAIN}, 0, 0, 0) == 0, ctypes.get_errno()
        assert libc.prctl({PR_GET_MDWE}, 0, 0, 0, 0) == {PR_MDWE_REFUSE_EXEC_GAIN}
        import asyncio, sqlite3, ssl
        import aiohttp, aiosqlite, structlog
        from cryptography.fernet import Fernet
        ssl.create_default_context()
        key = Fernet.generate_key()
        assert Fernet(key).decrypt(Fernet(key).encrypt(b"token")) == b"token"
        async def main():
            async with aiosqlite.connect({str(tmp_path / "state.db")!r}) as db:
                await db.execute("create table t (x)")
                await db.commit()
        asyncio.run(main())
        from outboxd.cli import main as cli
        try:
            cli(["--help"])
        except SystemExit as exc:
            assert exc.code == 0
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_credentials_are_the_names_the_example_configuration_uses():
    # Under systemd a secret file name without "/" is read from $CREDENTIALS_DIRECTORY: the unit must load it.
    example = tomllib.loads((SYSTEMD.parent / "config/outboxd.example.toml").read_text())
    loaded = set(re.findall(r"^LoadCredential=([^:]+):", UNIT.read_text(), re.MULTILINE))
    assert loaded == {example["pennylane"]["client_secret_file"], example["secrets"]["token_key_file"]}
