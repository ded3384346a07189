"""The control socket's own guards: the kernel names the actor, only JSON bodies mutate, listings are bounded."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import aiohttp
import pytest
from control.backend_double import DaemonDouble

from outboxd.control.server import MAX_LIST_LIMIT


async def _post(socket_path: Path, path: str, **kwargs: object) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(socket_path))) as session,
        session.post("http://outboxd" + path, **kwargs) as response,  # type: ignore[arg-type]
    ):
        return response.status, await response.json()


async def _get(socket_path: Path, path: str) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(socket_path))) as session,
        session.get("http://outboxd" + path) as response,
    ):
        return response.status, await response.json()


@pytest.mark.skipif(os.geteuid() != 0, reason="runs a client as the user nobody, which needs root")
async def test_another_users_call_is_audited_as_that_user_beside_the_declared_name(
    socket_path: Path, daemon: DaemonDouble
) -> None:
    os.chmod(socket_path.parent, 0o755)  # noqa: S103
    os.chmod(socket_path, 0o666)  # noqa: S103 (let nobody reach it: the group does in production)
    body = json.dumps({"actor": "alice", "reason": "month end"})
    curl = await asyncio.create_subprocess_exec(
        "curl", "-sS", "--unix-socket", str(socket_path), "-H", "Content-Type: application/json", "-d", body,
        "http://outboxd/v1/shops/paris-01/pause", user="nobody", stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await curl.communicate()
    assert curl.returncode == 0
    assert json.loads(out)["paused"] is True
    assert daemon.called("pause") == [
        {"shop_id": "paris-01", "actor": "nobody (declared: alice)", "reason": "month end"}
    ]


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("text/plain", '{"actor": "alice", "reason": "x"}'),  # what a web page may POST with no CORS preflight
        ("application/x-www-form-urlencoded", "actor=alice&reason=x"),
        (
            "multipart/form-data; boundary=b",
            '--b\r\nContent-Disposition: form-data; name="actor"\r\n\r\nalice\r\n--b--',
        ),
    ],
)
async def test_a_body_that_is_not_sent_as_json_is_refused_and_nothing_is_done(
    socket_path: Path, daemon: DaemonDouble, content_type: str, data: str
) -> None:
    status, answer = await _post(
        socket_path, "/v1/shops/paris-01/pause", data=data, headers={"Content-Type": content_type}
    )
    assert (status, answer["error"]) == (400, "bad_request")
    assert "application/json" in str(answer["message"])
    assert daemon.called("pause") == []


@pytest.mark.parametrize("limit", ["1e21", "0", "-1", str(MAX_LIST_LIMIT + 1), "abc", "²", "9" * 40])
@pytest.mark.parametrize("path", ["/v1/audit", "/v1/failed"])
async def test_a_limit_out_of_range_is_a_clear_400(socket_path: Path, path: str, limit: str) -> None:
    status, answer = await _get(socket_path, f"{path}?limit={limit}")
    assert (status, answer["error"]) == (400, "bad_request")
    assert "limit" in str(answer["message"])


@pytest.mark.parametrize("path", ["/v1/audit", "/v1/failed"])
async def test_the_largest_limit_is_answered(socket_path: Path, path: str) -> None:
    status, _ = await _get(socket_path, f"{path}?limit={MAX_LIST_LIMIT}")
    assert status == 200


async def test_a_negative_offset_is_a_clear_400(socket_path: Path) -> None:
    status, answer = await _get(socket_path, "/v1/failed?offset=-5")
    assert (status, answer["error"]) == (400, "bad_request")
    assert "offset" in str(answer["message"])
