"""25 requests per 5 s per token, the ratelimit-* headers on every answer, and the plain-text 429."""

from __future__ import annotations

import aiohttp
from sandbox_helpers import Api, FakeClock

from outboxd.pennylane_simulator import Company, Sandbox, run_sandbox
from outboxd.pennylane_simulator.ratelimit import parse_rate_limit


async def test_the_26th_request_in_a_window_is_a_plain_text_429(api: Api, clock: FakeClock, company: Company) -> None:
    remaining = []
    for _ in range(25):
        status, _, response = await api.call("GET", "/me")
        assert status == 200
        assert response.headers["ratelimit-limit"] == "25"
        assert response.headers["ratelimit-reset"] == str(int(clock.now + 5))
        remaining.append(int(response.headers["ratelimit-remaining"]))
    assert remaining == list(range(24, -1, -1))
    status, body, response = await api.call("POST", "/journals", json={"code": "KC", "label": "Caisse"})
    assert status == 429
    assert response.content_type == "text/plain"
    assert body == "Rate limit exceeded. Please retry in 5 seconds."
    assert response.headers["retry-after"] == "5"
    assert response.headers["ratelimit-remaining"] == "0"
    assert "KC" not in company.journal_codes  # a 429 was not processed
    other = Api(api.session, api.handle, api.handle.sandbox.issue_api_token(company.id))
    assert (await other.get("/me"))[0] == 200  # per token
    clock.advance(3.2)
    status, body, response = await api.call("GET", "/me")
    assert (status, response.headers["retry-after"]) == (429, "2")
    clock.advance(1.8)
    assert (await api.get("/me"))[0] == 200
    stats = api.handle.sandbox
    assert stats.throttled_count[api.token] == 2
    assert stats.request_count[api.token] == 28


async def test_switched_off_for_benchmarks(session: aiohttp.ClientSession) -> None:
    sandbox = Sandbox(rate_limit=None)
    company = sandbox.add_company("Bench")
    async with run_sandbox(sandbox) as running:
        api = Api(session, running, sandbox.issue_api_token(company.id))
        for _ in range(40):
            status, _, response = await api.call("GET", "/me")
            assert status == 200
            assert "ratelimit-limit" not in response.headers


def test_parse_rate_limit() -> None:
    assert parse_rate_limit("25/5") == (25, 5.0)
    assert parse_rate_limit("100/0.5") == (100, 0.5)
    for wrong in ("25", "0/5", "25/0"):
        try:
            parse_rate_limit(wrong)
        except ValueError:
            continue
        raise AssertionError(wrong)
