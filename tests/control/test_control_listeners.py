"""Listeners have one purpose each, on the real daemon: no control route answers over TCP (whatever the method or
content type), the metrics listener answers ``GET /metrics`` only, the OAuth callback listener its one path and
only while an authorization is pending, for the host names it serves."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from bridge_setup import free_port, wait_until
from control.backend_double import DaemonDouble
from daemon_bench import Bench, bench

from outboxd.control.server import create_control_app
from outboxd.daemon.listeners import CallbackListener

pytestmark = pytest.mark.timeout(90)

PLACEHOLDERS = {"shop": "s1", "id": "1", "action": "pause"}


def control_calls() -> list[tuple[str, str]]:
    """(method, path) of every route of the control application, its placeholders filled in."""
    calls = []
    for route in create_control_app(DaemonDouble()).router.routes():
        template = route.resource.canonical if route.resource is not None else ""
        path = re.sub(r"\{(\w+)(?::[^}]*)?\}", lambda m: PLACEHOLDERS[m.group(1)], template)
        calls.append((route.method, path))
    return calls


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[Bench]:
    """The real daemon with its metrics listener on, and an OAuth connect of s2 pending (the callback listens)."""
    async with bench(tmp_path) as b:
        metrics = f"127.0.0.1:{free_port()}"
        await b.restart(daemon=dataclasses.replace(b.config.daemon, metrics_listen=metrics))
        await b.client.connect_start("s2")
        yield b


def tcp_listeners(b: Bench) -> dict[str, str]:
    daemon = b.config.daemon
    return {"metrics": f"http://{daemon.metrics_listen}", "callback": f"http://127.0.0.1:{daemon.callback_port}"}


async def _status(http: aiohttp.ClientSession, method: str, url: str, **kwargs: object) -> int:
    async with http.request(method, url, allow_redirects=False, **kwargs) as response:
        return response.status


async def test_no_control_route_answers_on_any_tcp_listener(world: Bench) -> None:
    calls = control_calls()
    assert len(calls) >= 20
    assert ("POST", "/v1/shops/s1/pause") in calls
    cross_site = {"data": '{"actor": "mallory", "reason": "x"}', "headers": {"Content-Type": "text/plain"}}
    async with aiohttp.ClientSession() as http:
        for listener, base in tcp_listeners(world).items():
            for method, path in calls:
                for extra in ({}, cross_site) if method == "POST" else ({},):
                    status = await _status(http, method, base + path, **extra)
                    assert status in (404, 405), f"{method} {path} on the {listener} listener answered {status}"
    shop = await world.client.shop("s1")
    assert shop["paused"] is False
    assert (await world.client.audit(None))["items"][0]["action"] == "connect.start"  # nothing else was done


async def test_the_metrics_listener_answers_get_metrics_and_nothing_else(world: Bench) -> None:
    base = tcp_listeners(world)["metrics"]
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "/metrics") as page:
            assert page.status == 200
            assert "outboxd_queue_depth" in await page.text()
        assert await _status(http, "POST", base + "/metrics") == 405
        assert await _status(http, "HEAD", base + "/metrics") == 405
        assert await _status(http, "GET", base + world.config.daemon.callback_path) == 404
        assert await _status(http, "GET", base + "/") == 404


async def test_the_callback_listener_serves_its_path_to_its_host_names_only(world: Bench) -> None:
    base = tcp_listeners(world)["callback"]
    path = world.config.daemon.callback_path
    async with aiohttp.ClientSession() as http:
        assert await _status(http, "GET", base + path + "?state=unknown&code=x") == 400  # its page: link unknown
        assert await _status(http, "POST", base + path) == 405
        assert await _status(http, "HEAD", base + path) == 405
        assert await _status(http, "GET", base + "/metrics") == 404
        for host in ("evil.example", "evil.example:8765", "127.0.0.1.evil.example"):
            assert await _status(http, "GET", base + path, headers={"Host": host}) == 421, host
        for host in ("localhost", f"127.0.0.1:{world.config.daemon.callback_port}", "[::1]:1"):
            assert await _status(http, "GET", base + path + "?state=unknown", headers={"Host": host}) == 400, host


async def _refused(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as http, http.get(url):
            return False
    except aiohttp.ClientConnectionError:
        return True


async def test_the_callback_listener_listens_only_while_a_connect_is_pending(tmp_path: Path) -> None:
    async with bench(tmp_path) as b:
        url = f"http://127.0.0.1:{b.config.daemon.callback_port}{b.config.daemon.callback_path}"
        assert await _refused(url)  # started with nothing pending
        started = await b.client.connect_start("s2")
        assert not await _refused(url)
        redirect = b.sandbox.approve(started["authorize_url"], b.companies["s2"])
        async with aiohttp.ClientSession() as http, http.get(redirect) as page:
            assert page.status == 200
        assert await _refused(url)  # the only pending authorization was used
        first = await b.client.connect_start("s2")
        await b.client.connect_start("s2")
        await b.client.connect_complete("s2", b.sandbox.approve(first["authorize_url"], b.companies["s2"]))
        assert not await _refused(url)  # the second one still waits for its browser
        await b.restart()
        assert not await _refused(url)  # ... across a restart


async def test_the_callback_listener_closes_when_the_last_authorization_expires() -> None:
    async def page(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    port = free_port()
    listener = CallbackListener("127.0.0.1", port, "/cb", f"http://127.0.0.1:{port}/cb", page)
    await listener.setup()
    try:
        await listener.follow(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.3))
        assert not await _refused(f"http://127.0.0.1:{port}/cb")
        await wait_until(lambda: _refused(f"http://127.0.0.1:{port}/cb"), 10, "the listener closed at the expiry")
        assert not listener.listening
        await listener.follow(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))  # already past: stays closed
        assert await _refused(f"http://127.0.0.1:{port}/cb")
    finally:
        await listener.cleanup()
