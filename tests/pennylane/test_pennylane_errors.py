"""Error classification for answers and transport failures Pennylane cannot be made to produce on demand."""

from __future__ import annotations

import datetime

import aiohttp
import pytest

from outboxd.exceptions import AuthError, PermanentError, RateLimited, RetryableError, UnknownOutcomeError
from outboxd.pennylane import (
    ApiTokenConnection,
    ConnectionState,
    LedgerEntryLine,
    LedgerEntryRequest,
    PennylaneClient,
    RateLimiter,
    RecordingTrace,
    parse_error_message,
)
from outboxd.pennylane.errors import BODY_LIMIT, error_for_response
from outboxd.secrets import Secret
from tests.pennylane.conftest import FakeClock, Reply, ScriptedPeer

BODY = LedgerEntryRequest(
    datetime.date(2025, 3, 1),
    "Z1",
    1,
    "KC-1-0001",
    "EUR",
    (LedgerEntryLine(2, 100, 0, ""), LedgerEntryLine(3, 0, 100, "")),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"error": "Entry lines are not balanced", "status": 422}', "Entry lines are not balanced"),
        (
            '{"error": "unprocessable_entity", "message": "Journal is closed", "details": {"date": ["closed"]}}',
            'unprocessable_entity: Journal is closed {"date":["closed"]}',
        ),
        (
            '{"message": "is not a valid date", "field": "date", "code": "invalid"}',
            "date: is not a valid date (invalid)",
        ),
        ("Rate limit exceeded. Please retry in 2 seconds.", "Rate limit exceeded. Please retry in 2 seconds."),
        ("", "(empty body)"),
        ("[1, 2]", "[1, 2]"),
    ],
)
def test_parse_error_message_reads_every_documented_shape(text: str, expected: str) -> None:
    assert parse_error_message(text) == expected


@pytest.mark.parametrize(
    ("method", "status", "kind"),
    [
        ("POST", 400, PermanentError),
        ("POST", 403, PermanentError),
        ("GET", 404, PermanentError),
        ("POST", 409, PermanentError),
        ("POST", 422, PermanentError),
        ("POST", 401, AuthError),
        ("POST", 429, RateLimited),
        ("GET", 500, RetryableError),
        ("GET", 503, RetryableError),
        ("POST", 500, UnknownOutcomeError),
        ("POST", 502, UnknownOutcomeError),
        ("POST", 408, RetryableError),
    ],
)
def test_status_classification(method: str, status: int, kind: type[Exception]) -> None:
    error = error_for_response(method, status, '{"error": "x"}', {"retry-after": "2"})
    assert type(error) is kind
    assert error_for_response(method, 201, "{}", {}) is None


def test_raw_body_is_kept_but_truncated() -> None:
    error = error_for_response("POST", 422, "x" * 10_000, {})
    assert error is not None
    assert len(error.body) <= BODY_LIMIT + 1
    assert error.status == 422


async def test_422_raises_permanent_with_parsed_message(scripted_client: PennylaneClient, peer: ScriptedPeer) -> None:
    peer.on("POST", "/ledger_entries", Reply(422, {"error": "Entry lines are not balanced", "status": 422}))
    with pytest.raises(PermanentError) as caught:
        await scripted_client.create_ledger_entry(BODY)
    assert caught.value.message == "Entry lines are not balanced"
    assert caught.value.status == 422
    assert "balanced" in caught.value.body


async def test_post_5xx_is_unknown_outcome_get_5xx_retryable(
    scripted_client: PennylaneClient, peer: ScriptedPeer
) -> None:
    peer.on("POST", "/ledger_entries", Reply(502, "Bad gateway"))
    peer.on("GET", "/me", Reply(502, "Bad gateway"))
    with pytest.raises(UnknownOutcomeError):
        await scripted_client.create_ledger_entry(BODY)
    with pytest.raises(RetryableError) as caught:
        await scripted_client.me()
    assert not isinstance(caught.value, UnknownOutcomeError)


async def test_timeout_after_send_on_post_is_unknown_outcome(
    scripted_client: PennylaneClient, peer: ScriptedPeer
) -> None:
    peer.on("POST", "/ledger_entries", Reply(201, {"id": 1}, delay=0.6))
    with pytest.raises(UnknownOutcomeError, match="after the request was sent"):
        await scripted_client.create_ledger_entry(BODY)
    assert len(peer.seen) == 1  # it did arrive: that is why the outcome is unknown


async def test_reset_after_send_on_post_is_unknown_outcome(
    scripted_client: PennylaneClient, peer: ScriptedPeer
) -> None:
    peer.on("POST", "/ledger_entries", Reply(drop=True))
    with pytest.raises(UnknownOutcomeError):
        await scripted_client.create_ledger_entry(BODY)


async def test_timeout_and_reset_on_get_are_retryable(scripted_client: PennylaneClient, peer: ScriptedPeer) -> None:
    peer.on("GET", "/me", Reply(delay=0.6), Reply(drop=True))
    for _ in range(2):
        with pytest.raises(RetryableError) as caught:
            await scripted_client.me()
        assert not isinstance(caught.value, UnknownOutcomeError)


async def test_connection_refused_is_retryable_even_for_post(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    client = PennylaneClient(
        session, "http://127.0.0.1:9/api/external/v2", ApiTokenConnection(Secret("t")), RateLimiter(clock=clock)
    )
    with pytest.raises(RetryableError) as caught:
        await client.create_journal("ZZ", "nope")
    assert not isinstance(caught.value, UnknownOutcomeError)


async def test_dns_failure_is_retryable_even_for_post(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    client = PennylaneClient(
        session,
        "http://no-such-host.invalid/api/external/v2",
        ApiTokenConnection(Secret("t")),
        RateLimiter(clock=clock),
    )
    with pytest.raises(RetryableError) as caught:
        await client.create_journal("ZZ", "nope")
    assert not isinstance(caught.value, UnknownOutcomeError)


async def test_non_json_success_on_post_is_unknown_outcome(
    scripted_client: PennylaneClient, peer: ScriptedPeer
) -> None:
    peer.on("POST", "/ledger_entries", Reply(201, "<html>proxy</html>"))
    with pytest.raises(UnknownOutcomeError):
        await scripted_client.create_ledger_entry(BODY)


async def test_429_is_waited_out_and_resent_without_error(
    scripted_client: PennylaneClient, peer: ScriptedPeer, clock: FakeClock, trace: RecordingTrace
) -> None:
    plain = "Rate limit exceeded. Please retry in 2 seconds."
    peer.on("POST", "/ledger_entries", Reply(429, plain, {"retry-after": "2"}), Reply(201, {"id": 77}))
    started = clock.now
    assert (await scripted_client.create_ledger_entry(BODY)).id == 77
    assert clock.now - started >= 2
    usage = scripted_client.limiter.usage()
    assert usage.rate_limited == 1
    assert usage.retry_after_seconds == pytest.approx(2)
    assert [e.status for e in trace.exchanges] == [429, 201]
    assert peer.seen[0].body == peer.seen[1].body  # resent as is


async def test_429_resends_are_bounded(scripted_client: PennylaneClient, peer: ScriptedPeer) -> None:
    peer.on("GET", "/me", Reply(429, "Rate limit exceeded.", {"retry-after": "1"}))
    with pytest.raises(RateLimited) as caught:
        await scripted_client.me()
    assert caught.value.retry_after == 1
    assert scripted_client.limiter.usage().rate_limited == 11
    assert len(peer.seen) == 11


async def test_401_with_api_token_marks_reconnect_needed(scripted_client: PennylaneClient, peer: ScriptedPeer) -> None:
    peer.on("GET", "/me", Reply(401, {"error": "unauthorized", "status": 401}))
    with pytest.raises(AuthError):
        await scripted_client.me()
    with pytest.raises(AuthError, match="reconnect needed"):
        await scripted_client.me()
    assert len(peer.seen) == 1  # the dead connection sends nothing more
    assert scripted_client.connection.state is ConnectionState.RECONNECT_NEEDED


async def test_every_call_sends_the_2026_header_and_the_bearer(
    scripted_client: PennylaneClient, peer: ScriptedPeer
) -> None:
    peer.on(
        "GET", "/me", Reply(200, {"user": None, "company": {"id": 5, "name": "Fournil", "reg_no": "1"}, "scopes": []})
    )
    me = await scripted_client.me()
    assert peer.seen[0].headers["X-Use-2026-API-Changes"] == "true"
    assert peer.seen[0].headers["Authorization"] == "Bearer tok-static-123"
    assert me.company_id == 5


async def test_errors_and_traces_never_carry_the_token(
    scripted_client: PennylaneClient, peer: ScriptedPeer, trace: RecordingTrace
) -> None:
    peer.on("POST", "/ledger_entries", Reply(422, '{"error": "bad token tok-static-123 echoed", "status": 422}'))
    with pytest.raises(PermanentError) as caught:
        await scripted_client.create_ledger_entry(BODY)
    assert "tok-static-123" not in str(caught.value) + caught.value.body
    assert "tok-static-123" not in repr(trace.exchanges)
    assert "tok-static-123" not in repr(scripted_client)
