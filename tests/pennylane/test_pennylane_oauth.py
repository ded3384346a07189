"""OAuth protocol pieces and token rotation, against a scripted token endpoint on loopback."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from outboxd.exceptions import AuthError, PermanentError, UnknownOutcomeError
from outboxd.pennylane import (
    ApiTokenConnection,
    ConnectionState,
    OAuthApp,
    OAuthConnection,
    PennylaneClient,
    RateLimiter,
    TokenSet,
)
from outboxd.secrets import Secret
from tests.pennylane.conftest import FakeClock, Reply, ScriptedPeer

SECRET = "client-secret-xyz"


def _app(peer: ScriptedPeer, clock: FakeClock, *, pkce: bool = False) -> OAuthApp:
    return OAuthApp(
        client_id="outboxd-test",
        client_secret=Secret(SECRET),
        authorize_url=f"{peer.root}/oauth/authorize",
        token_url=f"{peer.root}/oauth/token",
        revoke_url=f"{peer.root}/oauth/revoke",
        redirect_uri="http://127.0.0.1/callback",
        pkce=pkce,
        clock=clock,
    )


def _pair(n: int) -> dict[str, object]:
    return {"access_token": f"access-{n}", "refresh_token": f"refresh-{n}", "expires_in": 86400, "scope": "a b"}


def test_authorization_request_carries_state_scopes_and_pkce(peer: ScriptedPeer, clock: FakeClock) -> None:
    url, state, verifier = _app(peer, clock, pkce=True).authorization_request()
    query = parse_qs(urlsplit(url).query)
    assert query["response_type"] == ["code"]
    assert query["state"] == [state]
    assert query["client_id"] == ["outboxd-test"]
    assert "ledger_entries:all" in query["scope"][0].split(" ")
    assert query["code_challenge_method"] == ["S256"]
    assert verifier is not None
    assert len(state) >= 32
    assert _app(peer, clock).authorization_request()[2] is None


def test_parse_redirect(peer: ScriptedPeer, clock: FakeClock) -> None:
    app = _app(peer, clock)
    assert app.parse_redirect("http://127.0.0.1/callback?code=abc&state=s1", "s1") == "abc"
    with pytest.raises(AuthError, match="state does not match"):
        app.parse_redirect("http://127.0.0.1/callback?code=abc&state=forged", "s1")
    with pytest.raises(AuthError, match="refused"):
        app.parse_redirect("http://127.0.0.1/callback?error=access_denied&state=s1", "s1")
    with pytest.raises(AuthError, match="no code"):
        app.parse_redirect("http://127.0.0.1/callback?state=s1", "s1")


async def test_exchange_sends_the_form_and_reads_the_pair(
    session: aiohttp.ClientSession, peer: ScriptedPeer, clock: FakeClock
) -> None:
    peer.on("POST", "/oauth/token", Reply(200, _pair(1)), root=True)
    tokens = await _app(peer, clock, pkce=True).exchange_code(session, "the-code", "the-verifier")
    assert (tokens.access_token, tokens.refresh_token, tokens.scopes) == ("access-1", "refresh-1", ("a", "b"))
    assert tokens.expires_at == clock() + 86400
    form = parse_qs(peer.seen[0].body)
    assert form["grant_type"] == ["authorization_code"]
    assert form["code_verifier"] == ["the-verifier"]
    assert form["client_secret"] == [SECRET]


async def test_token_endpoint_errors(session: aiohttp.ClientSession, peer: ScriptedPeer, clock: FakeClock) -> None:
    peer.on(
        "POST",
        "/oauth/token",
        Reply(400, {"error": "invalid_grant"}),
        Reply(401, {"error": "invalid_client"}),
        Reply(400, {"error": "invalid_client"}),
        Reply(200, "not json"),
        root=True,
    )
    app = _app(peer, clock)
    with pytest.raises(AuthError, match="invalid_grant"):
        await app.refresh(session, "refresh-0")
    with pytest.raises(AuthError):
        await app.refresh(session, "refresh-0")
    with pytest.raises(PermanentError, match="client_secret"):
        await app.refresh(session, "refresh-0")
    with pytest.raises(UnknownOutcomeError):
        await app.refresh(session, "refresh-0")


async def test_fifty_callers_at_expiry_make_exactly_one_refresh(
    session: aiohttp.ClientSession, peer: ScriptedPeer, clock: FakeClock
) -> None:
    peer.on("POST", "/oauth/token", Reply(200, _pair(1), delay=0.05), root=True)
    peer.on("GET", "/me", Reply(200, {"user": None, "company": {"id": 1, "name": "F", "reg_no": "1"}, "scopes": []}))
    events: list[str] = []

    async def on_rotate(tokens: TokenSet) -> None:
        await asyncio.sleep(0.01)  # a durable write takes time; nobody may use the pair meanwhile
        events.append(f"saved {tokens.refresh_token}")

    expired = TokenSet("access-0", "refresh-0", clock() + 10, ())
    connection = OAuthConnection(_app(peer, clock), expired, on_rotate, refresh_margin=60, clock=clock)
    client = PennylaneClient(session, peer.url, connection, RateLimiter(limit=100, clock=clock, sleep=clock.sleep))
    await asyncio.gather(*(client.me() for _ in range(50)))
    assert len(peer.hits("POST", "/oauth/token")) == 1
    assert events == ["saved refresh-1"]
    me_calls = peer.hits("GET", "/api/external/v2/me")
    assert {seen.headers["Authorization"] for seen in me_calls} == {"Bearer access-1"}
    assert connection.refreshes == 1


async def test_401_refreshes_once_and_resends(
    session: aiohttp.ClientSession, peer: ScriptedPeer, clock: FakeClock
) -> None:
    peer.on("POST", "/oauth/token", Reply(200, _pair(1)), root=True)
    body = {"user": None, "company": {"id": 1, "name": "F", "reg_no": "1"}, "scopes": []}
    peer.on("GET", "/me", Reply(401, {"error": "unauthorized", "status": 401}), Reply(200, body))
    saved: list[TokenSet] = []

    async def on_rotate(tokens: TokenSet) -> None:
        saved.append(tokens)

    fresh = TokenSet("access-0", "refresh-0", clock() + 86400, ())
    connection = OAuthConnection(_app(peer, clock), fresh, on_rotate, clock=clock)
    client = PennylaneClient(session, peer.url, connection, RateLimiter(clock=clock, sleep=clock.sleep))
    assert (await client.me()).company_id == 1
    assert [s.access_token for s in saved] == ["access-1"]
    me_calls = peer.hits("GET", "/api/external/v2/me")
    assert [c.headers["Authorization"] for c in me_calls] == ["Bearer access-0", "Bearer access-1"]


async def test_401_after_refresh_means_reconnect(
    session: aiohttp.ClientSession, peer: ScriptedPeer, clock: FakeClock
) -> None:
    peer.on("POST", "/oauth/token", Reply(200, _pair(1)), root=True)
    peer.on("GET", "/me", Reply(401, {"error": "unauthorized", "status": 401}))

    async def on_rotate(tokens: TokenSet) -> None:
        return None

    connection = OAuthConnection(_app(peer, clock), TokenSet("a", "r", clock() + 86400), on_rotate, clock=clock)
    client = PennylaneClient(session, peer.url, connection, RateLimiter(clock=clock, sleep=clock.sleep))
    with pytest.raises(AuthError, match="reconnect needed"):
        await client.me()
    assert connection.state is ConnectionState.RECONNECT_NEEDED


async def test_invalid_grant_marks_reconnect_needed(
    session: aiohttp.ClientSession, peer: ScriptedPeer, clock: FakeClock
) -> None:
    peer.on("POST", "/oauth/token", Reply(400, {"error": "invalid_grant"}), root=True)

    async def on_rotate(tokens: TokenSet) -> None:
        raise AssertionError("nothing to save")

    connection = OAuthConnection(_app(peer, clock), TokenSet("a", "r", clock() - 1), on_rotate, clock=clock)
    with pytest.raises(AuthError, match="reconnect needed"):
        await connection.access_token(session)
    assert connection.state is ConnectionState.RECONNECT_NEEDED
    assert "invalid_grant" in connection.reason
    with pytest.raises(AuthError):
        await connection.access_token(session)
    assert len(peer.hits("POST", "/oauth/token")) == 1


async def test_a_pair_that_could_not_be_saved_is_never_used_until_saved(
    session: aiohttp.ClientSession, peer: ScriptedPeer, clock: FakeClock
) -> None:
    peer.on("POST", "/oauth/token", Reply(200, _pair(1)), root=True)
    attempts: list[str] = []

    async def flaky_store(tokens: TokenSet) -> None:
        attempts.append(tokens.refresh_token)
        if len(attempts) == 1:
            raise OSError("disk full")

    connection = OAuthConnection(_app(peer, clock), TokenSet("a", "r", clock() - 1), flaky_store, clock=clock)
    with pytest.raises(OSError, match="disk full"):
        await connection.access_token(session)
    assert connection.tokens.access_token == "a"
    assert await connection.access_token(session) == "access-1"
    assert attempts == ["refresh-1", "refresh-1"]
    assert len(peer.hits("POST", "/oauth/token")) == 1  # the rotated pair was kept, not fetched again


async def test_revoke_posts_the_token(session: aiohttp.ClientSession, peer: ScriptedPeer, clock: FakeClock) -> None:
    peer.on("POST", "/oauth/revoke", Reply(200, ""), root=True)
    await _app(peer, clock).revoke(session, "refresh-9")
    assert parse_qs(peer.seen[0].body)["token"] == ["refresh-9"]


def test_secrets_never_show(peer: ScriptedPeer, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    app = _app(peer, clock)
    tokens = TokenSet("access-secret-1", "refresh-secret-1", 1.0, ("a",))

    async def on_rotate(tokens: TokenSet) -> None:
        return None

    objects = [
        app,
        app.client_secret,
        tokens,
        OAuthConnection(app, tokens, on_rotate),
        ApiTokenConnection(Secret("api-secret-1")),
    ]
    caplog.set_level(logging.DEBUG)
    for thing in objects:
        logging.getLogger("test").info("object %s %r", thing, thing)
        text = f"{thing} {thing!r} {thing:>10}" if isinstance(thing, Secret) else f"{thing} {thing!r}"
        for secret in (SECRET, "access-secret-1", "refresh-secret-1", "api-secret-1"):
            assert secret not in text
            assert secret not in caplog.text
    assert Secret("x") == Secret("x")
    assert Secret("x").reveal() == "x"
