"""Connections on the real daemon: every connect is audited, whichever way it completes; a configured company API
token refused by Pennylane stays ``reconnect_needed`` in the state database, across a restart, until replaced."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from daemon_bench import Bench, bench, history, until
from peer import audited

from outboxd.daemon.connections import CALLBACK_ACTOR
from outboxd.secrets import generate_key

pytestmark = pytest.mark.timeout(90)


async def test_a_connect_completed_on_the_callback_listener_is_audited(tmp_path: Path) -> None:
    async with bench(tmp_path) as b:
        started = await b.client.connect_start("s2")
        redirect = b.sandbox.approve(started["authorize_url"], b.companies["s2"])
        async with aiohttp.ClientSession() as http, http.get(redirect) as page:
            assert page.status == 200
        (complete, start) = (await b.client.audit("s2"))["items"]
        assert (start["actor"], start["action"]) == (audited("alice"), "connect.start")
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
        assert rows == [(audited("alice"), "connect.complete"), (audited("alice"), "connect.start")]


async def test_a_configured_token_refused_with_401_is_reconnect_needed_across_a_restart(tmp_path: Path) -> None:
    async with bench(tmp_path) as b:
        assert b.daemon is not None
        token = b.token_file.read_text()
        rows = history("s1")
        b.insert(rows[: len(rows) // 2])
        await until(lambda: _s1_delivered(b), what="s1's first events delivered")

        del b.sandbox.tokens.access[token]  # revoked in Pennylane's settings: every call is a 401
        b.insert(rows[len(rows) // 2 :])
        await until(lambda: _s1_state(b, "reconnect_needed"), what="s1 reconnect_needed")
        store = b.daemon.store

        async def stored_refused() -> bool:  # the client says so first, the delivery's failure then stores it
            stored = await store.connections.get("s1")
            return stored is not None and stored.state == "reconnect_needed"

        await until(stored_refused, what="s1's stored connection reconnect_needed")
        stored = await store.connections.get("s1")
        assert stored is not None
        assert (stored.kind, stored.state) == ("api_token", "reconnect_needed")
        await b.client.pause("s1", "waiting for a new token")  # nothing is tried after the restart

        await b.stop()
        await b.start()
        connection = (await b.client.shop("s1"))["connection"]
        assert (connection["state"], connection["kind"]) == ("reconnect_needed", "api_token")
        assert token not in str(await b.client.status())

        b.token_file.write_text(b.sandbox.issue_api_token(b.companies["s1"]))  # a new token, then a restart
        await b.stop()
        await b.start()
        connection = (await b.client.shop("s1"))["connection"]
        assert (connection["state"], connection["company_name"]) == ("connected", "Boulangerie Martin")
        await b.client.resume("s1")
        await until(lambda: _s1_delivered(b), what="s1's other events delivered")


async def test_a_configured_token_still_starts_when_the_token_key_changed(tmp_path: Path) -> None:
    """Its stored row (encrypted with the old key) cannot be read: the configured token replaces it."""
    async with bench(tmp_path) as b:
        await until(lambda: _s1_state(b, "connected"), what="s1 connected")
        await b.stop()
        key = tmp_path / "token.key"
        key.write_text(generate_key().reveal())
        await b.start()
        connection = (await b.client.shop("s1"))["connection"]
        assert (connection["state"], connection["company_name"]) == ("connected", "Boulangerie Martin")


async def _s1_state(b: Bench, state: str) -> bool:
    return bool((await b.client.shop("s1"))["connection"]["state"] == state)


async def _s1_delivered(b: Bench) -> bool:
    shop = await b.client.shop("s1")
    return bool(shop["queue_depth"] == 0 and shop["delivered_today"] > 0)
