"""One OAuth grant used by two replicas, each with its own pool on one PostgreSQL state database (the daemon's
``StoredGrant``), against the simulator's token endpoint over real HTTP. The one holding older tokens (a lane
handed over and taken back, a control call on the replica that does not own the shop) takes the pair the other
rotated to and saved, instead of refreshing with a refresh token Pennylane already killed; and two refreshing at the
same instant never use one refresh token twice: the grant is held (its row locked) around each refresh. Either
mistake kills the grant at Pennylane (invalid_grant: the shop would need a reconnect)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import aiohttp
import pytest

from outboxd.daemon.clients import StoredGrant
from outboxd.log import Redactor
from outboxd.pennylane import OAuthApp, OAuthConnection, PennylaneClient, RateLimiter, TokenSet
from outboxd.pennylane_simulator import Sandbox, SandboxHandle, run_sandbox
from outboxd.secrets import Secret, TokenCipher, generate_key
from outboxd.store import Connection, Store, open_store

REDIRECT = "http://127.0.0.1:8765/callback"
SECRET = "shared-grant-secret"
SHOP = "oauth-shop"


@dataclasses.dataclass(frozen=True)
class SlowRefresh(OAuthApp):
    """The token endpoint's answer comes a moment later: a replica refreshing at the same time is well inside its own
    refresh by then (without the hold it has read the same stored pair and sends the same refresh token)."""

    async def refresh(self, session: aiohttp.ClientSession, refresh_token: str) -> TokenSet:
        await asyncio.sleep(0.3)
        return await super().refresh(session, refresh_token)


@dataclass
class Grant:
    """A connected grant, its first pair stored, and two replicas' stores."""

    handle: SandboxHandle
    session: aiohttp.ClientSession
    app: OAuthApp
    company_id: int
    first: TokenSet
    replicas: tuple[Store, Store]

    def connection(self, store: Store, clock: Callable[[], float] = time.time) -> OAuthConnection:
        """A replica's connection on the first pair, its grant as stored (the daemon's)."""
        return OAuthConnection(self.app, self.first, StoredGrant(store, Redactor(), SHOP), clock=clock)

    def later(self) -> float:
        """A replica's clock at which the first access token is about to expire: it refreshes (read at the call:
        a time taken when the module is imported is long past by the test's turn in a full run)."""
        return self.first.expires_at

    def client(self, connection: OAuthConnection) -> PennylaneClient:
        return PennylaneClient(self.session, self.handle.api_url, connection, RateLimiter(limit=100))


@pytest.fixture
async def grant(pg_url: str) -> AsyncIterator[Grant]:
    sandbox = Sandbox(rate_limit=None)
    sandbox.register_oauth_app("outboxd", SECRET, [REDIRECT])
    cipher = TokenCipher(generate_key())
    async with AsyncExitStack() as stack:
        handle = await stack.enter_async_context(run_sandbox(sandbox))
        session = await stack.enter_async_context(aiohttp.ClientSession())
        replicas = [await stack.enter_async_context(open_store(pg_url, owner=o, cipher=cipher)) for o in ("a", "b")]
        app = SlowRefresh(
            "outboxd", Secret(SECRET), handle.authorize_url, handle.token_url, handle.revoke_url, REDIRECT
        )
        company = sandbox.add_company("Boulangerie Martin")
        url, state, verifier = app.authorization_request()
        first = await app.exchange_code(session, app.parse_redirect(sandbox.approve(url, company.id), state), verifier)
        expires = dt.datetime.fromtimestamp(first.expires_at, dt.UTC)
        row = Connection(SHOP, "oauth", first.access_token, first.refresh_token, expires, (), None, None, "connected")
        await replicas[0].connections.save(row)
        yield Grant(handle, session, app, company.id, first, (replicas[0], replicas[1]))


async def test_a_replica_with_older_tokens_takes_the_pair_another_rotated_to(grant: Grant) -> None:
    a, b = grant.replicas
    owner, former = grant.client(grant.connection(a, grant.later)), grant.client(grant.connection(b))
    assert (await owner.me()).company_id == grant.company_id  # rotated and saved: the first pair is dead
    stored = await b.connections.get(SHOP)
    assert stored is not None
    assert stored.access_token != grant.first.access_token
    assert (await former.me()).company_id == grant.company_id  # its 401 made it read the saved pair
    tokens = grant.handle.sandbox.tokens
    assert tokens.reused == 0
    assert len(tokens.spent) == 1  # one refresh in all
    assert former.connection.state is owner.connection.state


async def test_two_replicas_refreshing_one_grant_at_once_use_its_refresh_token_once(grant: Grant) -> None:
    connections = [grant.connection(store, grant.later) for store in grant.replicas]
    used = await asyncio.gather(*(c.access_token(grant.session) for c in connections), return_exceptions=True)
    tokens = grant.handle.sandbox.tokens
    assert tokens.reused == 0, "a refresh token was used twice: the grant is dead at Pennylane"
    assert len(tokens.spent) == 1  # one refresh in all; the other replica took its pair
    stored = await grant.replicas[1].connections.get(SHOP)
    assert stored is not None
    assert used == [stored.access_token] * 2
    assert tokens.lookup(stored.access_token) is not None
