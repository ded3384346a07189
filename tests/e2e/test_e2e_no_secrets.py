"""No secret anywhere an operator or a backup can read it: a real daemon at debug level, OAuth access tokens living
4 s (rotated every few seconds while a shop delivers), a company API token, an OAuth connect through the callback
listener; then every log line, the state database's files, every control answer and the metrics page are searched
for every token, code and secret ever issued. None may appear (the state holds tokens encrypted only)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

import aiohttp
from e2e_harness import CLIENT_SECRET, World, WorldFactory, settle, wait_until
from e2e_killloop import produce

from outboxd.control.client import ControlClient
from outboxd.pennylane_simulator.tokens import TokenPair

TOKEN_LIFE = 4
ROTATIONS = 3
ISSUED = re.compile(rb"sbx_(?:at|rt|api|code)_[0-9a-f]{32}")
"""Every credential the simulator issues has this shape: a match is a leak even of one this test did not record."""


def record_issued(world: World) -> set[str]:
    """Every access and refresh token, code and company API token the simulator issues from now on (and those it
    issued already), kept even after a rotation kills them."""
    store = world.sandbox.tokens
    issued = {*store.access, *store.refresh, *store.codes, *store.spent}

    def recording(method: Callable[..., Any]) -> Callable[..., Any]:
        def issue(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            issued.update((result.access_token, result.refresh_token) if isinstance(result, TokenPair) else (result,))
            return result

        return issue

    store._pair = recording(store._pair)  # type: ignore[method-assign]
    store.issue_code = recording(store.issue_code)  # type: ignore[method-assign]
    store.api_token = recording(store.api_token)  # type: ignore[method-assign]
    return issued


async def every_answer(client: ControlClient, shop_ids: tuple[str, ...]) -> list[str]:
    """The JSON text of every read call of the control API, for every shop and delivery."""
    answers: list[Any] = [await client.status(), await client.audit(None), await client.failed()]
    for shop_id in shop_ids:
        answers += [await client.shop(shop_id), await client.mapping(shop_id), await client.closings(shop_id),
                    await client.backfill_get(shop_id), await client.audit(shop_id)]  # fmt: skip
    return [json.dumps(answer) for answer in answers]


async def test_no_secret_in_logs_state_control_answers_or_metrics_after_a_debug_run_with_rotations(
    make_world: WorldFactory,
) -> None:
    world = await make_world(oauth=("s1",), token_lifetime=TOKEN_LIFE)
    issued = record_issued(world)
    config = world.layout.config_path
    config.write_text(config.read_text().replace('log_format = "json"', 'log_format = "json"\nlog_level = "debug"'))
    world.sandbox.faults.update(latency_ms=20)
    await world.daemon.start_ready()
    async with world.control() as client:  # the operator's connect, the browser landing on the callback listener
        started = await client.connect_start("s1")
        redirect = world.sandbox.approve(str(started["authorize_url"]), world.companies["s1"])
        async with aiohttp.ClientSession() as http, http.get(redirect) as page:
            assert page.status == 200
        rows = {shop: world.history(shop, days=6) for shop in ("s1", "s2")}
        producer = asyncio.create_task(produce(world.layout, rows, spread=(ROTATIONS + 2) * TOKEN_LIFE))

        async def rotated() -> bool:
            return len(world.sandbox.tokens.spent) >= ROTATIONS

        try:
            await wait_until(rotated, 10 * TOKEN_LIFE, f"{ROTATIONS} rotations of the OAuth pair")
            await producer
        finally:
            producer.cancel()
        await settle(world.state, {shop: len(shop_rows) for shop, shop_rows in rows.items()}, 120, world.daemon)
        answers = await every_answer(client, ("s1", "s2"))
        delivered = await client.failed()  # the failed list is empty: read deliveries' details by id instead
        assert delivered["total"] == 0
        for delivery_id in range(1, 40):
            answers.append(json.dumps(await client.delivery(delivery_id)))
    async with aiohttp.ClientSession() as http, http.get(world.layout.metrics_url) as page:
        metrics = await page.text()
    assert await world.daemon.terminate(30) == 0
    log = world.daemon.log_path.read_bytes()
    state = b"".join(path.read_bytes() for path in world.layout.root.glob("state.sqlite3*"))

    secrets = {*issued, CLIENT_SECRET, (world.layout.root / "token.key").read_text().strip()}
    assert len(world.sandbox.tokens.spent) >= ROTATIONS  # the pairs really rotated during the run
    assert set(world.sandbox.request_count) - {"-"} <= issued  # every token the daemon used is among those searched for
    assert b'"level": "debug"' in log or b'"level":"debug"' in log  # the run logged at debug level
    places = {"log": log, "state": state, "answers": "\n".join(answers).encode(), "metrics": metrics.encode()}
    for place, data in places.items():
        leaked = sorted(secret for secret in secrets if secret.encode() in data)
        assert leaked == [], f"{len(leaked)} secret(s) found in the {place}"
        assert ISSUED.search(data) is None, f"a credential of the simulator's shape in the {place}"
