"""Error mapping, the missing-daemon message, the actor rule and the socket's mode."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from control.backend_double import DaemonDouble

from outboxd.control.client import ControlClient, current_actor
from outboxd.control.server import create_control_app, start_control_site
from outboxd.exceptions import BadRequest, ControlError, DaemonNotRunning, NotFound


async def _raw(socket_path: Path, method: str, path: str, **kwargs: object) -> tuple[int, object]:
    async with (
        aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(socket_path))) as session,
        session.request(method, "http://outboxd" + path, **kwargs) as response,  # type: ignore[arg-type]
    ):
        return response.status, await response.json()


async def test_socket_is_group_writable_only(socket_path: Path) -> None:
    assert stat.S_IMODE(os.stat(socket_path).st_mode) == 0o660
    assert stat.S_ISSOCK(os.stat(socket_path).st_mode)


async def test_a_stale_socket_file_is_replaced(socket_dir: Path) -> None:
    path = socket_dir / "stale.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens: what a crash leaves
    runner = web.AppRunner(create_control_app(DaemonDouble()))
    await runner.setup()
    try:
        await start_control_site(runner, path, mode=0o600)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        async with ControlClient(path) as client:
            assert (await client.status())["daemon"]["pid"] == 4321
    finally:
        await runner.cleanup()


async def test_a_live_socket_is_not_stolen(socket_path: Path) -> None:
    runner = web.AppRunner(create_control_app(DaemonDouble()))
    await runner.setup()
    try:
        with pytest.raises(ControlError, match="already listens"):
            await start_control_site(runner, socket_path)
    finally:
        await runner.cleanup()


async def test_a_regular_file_is_not_replaced(socket_dir: Path) -> None:
    path = socket_dir / "not-a-socket"
    path.write_text("keep me")
    runner = web.AppRunner(create_control_app(DaemonDouble()))
    await runner.setup()
    try:
        with pytest.raises(ControlError, match="not a socket"):
            await start_control_site(runner, path)
    finally:
        await runner.cleanup()
    assert path.read_text() == "keep me"


async def test_missing_daemon_says_how_to_start_it(socket_dir: Path) -> None:
    path = socket_dir / "absent.sock"
    async with ControlClient(path) as client:
        with pytest.raises(DaemonNotRunning) as caught:
            await client.status()
    assert str(caught.value) == (
        f"the daemon is not running (no socket at {path}): start it with `systemctl start outboxd` or `outboxd run`"
    )


async def test_refused_connection_is_a_missing_daemon(socket_dir: Path) -> None:
    path = socket_dir / "dead.sock"
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(path))
    dead.close()
    async with ControlClient(path) as client:
        with pytest.raises(DaemonNotRunning, match="not running"):
            await client.retry(1)


async def test_unknown_shop_and_delivery_are_not_found(client: ControlClient) -> None:
    with pytest.raises(NotFound, match="no shop 'nowhere'"):
        await client.shop("nowhere")
    with pytest.raises(NotFound, match="no failed delivery 99"):
        await client.retry(99)


async def test_bad_input_is_a_bad_request(client: ControlClient) -> None:
    with pytest.raises(BadRequest, match="reason is required"):
        await client.discard(1, "   ")
    with pytest.raises(BadRequest, match="not a date"):
        await client.backfill_estimate("paris-01", "01/02/2025")
    with pytest.raises(BadRequest, match="mode must be"):
        await client.backfill_start("paris-01", "2025-01-01", "weekly")  # type: ignore[arg-type]
    with pytest.raises(BadRequest, match="no code"):
        await client.connect_complete("paris-01", "http://127.0.0.1:8765/oauth/callback?error=access_denied")


async def test_a_conflict_is_a_control_error_with_the_daemons_message(client: ControlClient) -> None:
    await client.backfill_start("paris-01", "2025-01-01", "detailed")
    with pytest.raises(ControlError, match="already running") as caught:
        await client.backfill_start("paris-01", "2025-01-01", "detailed")
    assert type(caught.value) is ControlError


@pytest.mark.parametrize(
    "path",
    ["/v1/shops/paris-01/pause", "/v1/deliveries/1/retry", "/v1/failed/retry", "/v1/shops/paris-01/backfill/cancel"],
)
async def test_mutating_calls_require_an_actor(socket_path: Path, daemon: DaemonDouble, path: str) -> None:
    status, body = await _raw(socket_path, "POST", path, json={"reason": "x"})
    assert status == 400
    assert body == {"error": "bad_request", "message": "actor is required (a non-empty string)"}
    assert daemon.calls == []


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "code", "error"),
    [
        ("GET", "/v1/nothing", {}, 404, "not_found"),
        ("GET", "/v1/deliveries/abc", {}, 400, "bad_request"),
        ("GET", "/v1/failed?http_status=teapot", {}, 400, "bad_request"),
        ("POST", "/v1/deliveries/1/retry", {"data": b"not json"}, 400, "bad_request"),
        ("POST", "/v1/failed/retry", {"json": {"actor": "a", "dry_run": "yes"}}, 400, "bad_request"),
    ],
)
async def test_error_shape(
    socket_path: Path, method: str, path: str, kwargs: dict[str, object], code: int, error: str
) -> None:
    status, body = await _raw(socket_path, method, path, **kwargs)
    assert status == code
    assert isinstance(body, dict)
    assert body["error"] == error
    assert body["message"]


async def test_an_unexpected_backend_failure_is_a_500_without_traceback(
    socket_path: Path, daemon: DaemonDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken() -> dict[str, object]:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(daemon, "status", broken)
    status, body = await _raw(socket_path, "GET", "/v1/status")
    assert status == 500
    assert body == {"error": "internal", "message": "the daemon failed to answer; see its log"}


def test_actor_prefers_the_sudo_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUDO_USER", "bob")
    monkeypatch.setenv("USER", "root")
    assert current_actor() == "bob"
    monkeypatch.delenv("SUDO_USER")
    assert current_actor() == "root"
