"""Connections on the real daemon: every connect is audited, whichever way it completes; a configured company API
token refused by Pennylane stays ``reconnect_needed`` in the state database, across a restart, until replaced."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from daemon_bench import Bench, bench

from outboxd.delivery.connections import CALLBACK_ACTOR

pytestmark = pytest.mark.timeout(90)


async def test_a_connect_completed_on_the_callback_listener_is_audited(tmp_path: Path) -> None:
    async with bench(tmp_path) as b:
        started = await b.client.connect_start("s2")
        redirect = b.sandbox.approve(started["authorize_url"], b.companies["s2"])
        async with aiohttp.ClientSession() as http, http.get(redirect) as page:
            assert page.status == 200
        (complete, start) = (await b.client.audit("s2"))["items"]
        assert (start["actor"], start["action"]) == ("alice", "connect.start")
        assert (complete["actor"], complete["action"], complete["shop_id"]) == (
            CALLBACK_ACTOR,
            "connect.complete",
            "s2",
        )
        assert complete["detail"] == {"kind": "oauth", "company": "Cave Durand"}


async def test_a_connect_completed_by_pasting_the_url_is_audited_once_as_the_operator(tmp_path: Path) -> None:
    async with bench(tmp_path) as b:
        started = await b.client.connect_start("s2")
        redirect = b.sandbox.approve(started["authorize_url"], b.companies["s2"])
        assert (await b.client.connect_complete("s2", redirect))["state"] == "connected"
        rows = [(a["actor"], a["action"]) for a in (await b.client.audit("s2"))["items"]]
        assert rows == [("alice", "connect.complete"), ("alice", "connect.start")]


async def _s1_state(b: Bench, state: str) -> bool:
    return bool((await b.client.shop("s1"))["connection"]["state"] == state)


async def _s1_delivered(b: Bench) -> bool:
    shop = await b.client.shop("s1")
    return bool(shop["queue_depth"] == 0 and shop["delivered_today"] > 0)
