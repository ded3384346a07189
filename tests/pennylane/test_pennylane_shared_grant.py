"""One OAuth grant used by two processes sharing a state database (replicas on PostgreSQL, a lane handed over and
taken back): the one holding older tokens takes the pair the other rotated to and saved, instead of refreshing with
a refresh token Pennylane already killed (invalid_grant: the shop would need a reconnect). Real HTTP to the
simulator; the state database is a variable both connections read and write."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from outboxd.pennylane import OAuthApp, OAuthConnection, PennylaneClient, RateLimiter, TokenSet
from outboxd.pennylane_simulator import Sandbox, SandboxHandle, run_sandbox
from outboxd.secrets import Secret

REDIRECT = "http://127.0.0.1:8765/callback"
SECRET = "shared-grant-secret"


@pytest.fixture
async def running() -> AsyncIterator[SandboxHandle]:
    sandbox = Sandbox(rate_limit=None)
    sandbox.register_oauth_app("outboxd", SECRET, [REDIRECT])
    async with run_sandbox(sandbox) as handle:
        yield handle


class Saved:
    """The connection row both processes share."""

    def __init__(self, tokens: TokenSet) -> None:
        self.tokens = tokens

    async def save(self, tokens: TokenSet) -> None:
        self.tokens = tokens

    async def read(self) -> TokenSet | None:
        return self.tokens


async def test_a_process_with_older_tokens_takes_the_pair_another_rotated_to(running: SandboxHandle) -> None:
    app = OAuthApp("outboxd", Secret(SECRET), running.authorize_url, running.token_url, running.revoke_url, REDIRECT)
    company = running.sandbox.add_company("Boulangerie Martin")
    async with aiohttp.ClientSession() as session:
        url, state, verifier = app.authorization_request()
        redirect = running.sandbox.approve(url, company.id)
        first = await app.exchange_code(session, app.parse_redirect(redirect, state), verifier)
        saved = Saved(first)
        later = time.time() + 86_400  # the owner's clock: its access token is about to expire, it refreshes

        def client(clock: float | None = None) -> PennylaneClient:
            connection = OAuthConnection(
                app, first, saved.save, stored=saved.read, clock=(lambda: clock) if clock else time.time
            )
            return PennylaneClient(session, running.api_url, connection, RateLimiter(limit=100))

        owner, former = client(later), client()
        assert (await owner.me()).company_id == company.id  # rotated and saved: the first pair is dead
        assert saved.tokens.access_token != first.access_token
        assert (await former.me()).company_id == company.id  # its 401 made it read the saved pair
        assert running.sandbox.tokens.reused == 0
        assert len(running.sandbox.tokens.spent) == 1  # one refresh in all
        assert former.connection.state is owner.connection.state
