"""Where a connection's bearer token comes from: an OAuth grant (refreshed, rotated) or a static API token.

One connection = one Pennylane company = one token. Refresh is single-flight per connection because
Pennylane rotates refresh tokens: two concurrent refreshes would kill each other's pair. The new pair is saved
durably before anyone uses it, so a crash never loses the only live pair. A grant that several processes may
refresh (replicas on one state database) is a :class:`SharedGrant`: each refresh holds it against the others,
reads the pair stored last and takes it when another process already rotated, and saves its own within the hold.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from outboxd.exceptions import AuthError
from outboxd.pennylane.oauth import OAuthApp, TokenSet
from outboxd.secrets import Secret

__all__ = [
    "ApiTokenConnection", "Connection", "ConnectionState", "HeldGrant", "OAuthConnection", "OnRotate", "SharedGrant",
]  # fmt: skip

OnRotate = Callable[[TokenSet], Awaitable[None]]
"""Persists a freshly rotated pair durably; must raise if it could not."""


class HeldGrant(Protocol):
    """A grant held against every other process that may refresh it, until the hold ends."""

    @property
    def stored(self) -> TokenSet | None:
        """The pair saved last (by any process), read once the hold was taken; None: none usable is stored."""
        ...

    async def save(self, tokens: TokenSet) -> None:
        """Keep a freshly rotated pair durably, by the end of the hold at the latest; raise if it could not."""


class SharedGrant(Protocol):
    """Where a grant's pair is kept for every process that may refresh it (replicas on one state database)."""

    def hold(self) -> AbstractAsyncContextManager[HeldGrant]:
        """The grant, held against the other processes until exit: a refresh happens inside."""
        ...


@dataclass(frozen=True)
class _Alone:
    """A grant only this process refreshes: the connection's own lock is the hold; a new pair goes to ``on_rotate``."""

    on_rotate: OnRotate
    stored: TokenSet | None = None

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[HeldGrant]:
        yield self

    async def save(self, tokens: TokenSet) -> None:
        await self.on_rotate(tokens)


class ConnectionState(enum.Enum):
    """Whether a connection can still obtain a token without a person."""

    CONNECTED = "connected"
    RECONNECT_NEEDED = "reconnect_needed"


class Connection(Protocol):
    """What :class:`~outboxd.pennylane.client.PennylaneClient` needs from a token source."""

    @property
    def state(self) -> ConnectionState: ...

    async def access_token(self, session: aiohttp.ClientSession) -> str:
        """A token to send now (refreshed first if it is about to expire)."""

    async def unauthorized(self, session: aiohttp.ClientSession, used: str) -> None:
        """``used`` got a 401: obtain a new token, or raise AuthError if none can be had."""

    def reconnect_needed(self, reason: str) -> AuthError:
        """Mark the connection dead; returns the error to raise."""


class _Health:
    """The reconnect-needed flag and its reason, shared by both connection kinds."""

    def __init__(self) -> None:
        self.state = ConnectionState.CONNECTED
        self.reason = ""

    def fail(self, reason: str) -> AuthError:
        self.state, self.reason = ConnectionState.RECONNECT_NEEDED, reason
        return AuthError(f"reconnect needed: {reason}")

    def check(self) -> None:
        if self.state is ConnectionState.RECONNECT_NEEDED:
            raise AuthError(f"reconnect needed: {self.reason}")


class OAuthConnection:
    """Tokens of one OAuth grant: refreshed ahead of expiry and on a 401.

    The margin is ``refresh_margin`` seconds, or half the access token's life when that is shorter: a token living
    less than the margin would otherwise be refreshed before every call, and each refresh kills the pair the
    calls already in flight are using. ``grant`` keeps each new pair: ``on_rotate`` when this process alone
    refreshes the grant, or a :class:`SharedGrant`, held around each refresh: the pair another process (a replica)
    rotated to is taken instead of refreshing with a refresh token Pennylane already killed, and two processes
    never refresh with the same refresh token.
    """

    def __init__(
        self,
        app: OAuthApp,
        tokens: TokenSet,
        grant: OnRotate | SharedGrant,
        *,
        refresh_margin: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._app = app
        self._grant: SharedGrant = _Alone(grant) if callable(grant) else grant
        self._tokens = tokens
        self._unsaved: TokenSet | None = None
        self._margin = refresh_margin
        self._clock = clock
        self._lock = asyncio.Lock()
        self._health = _Health()
        self.refreshes = 0
        """Successful refreshes since start, for metrics."""

    def __repr__(self) -> str:
        return f"OAuthConnection(client_id={self._app.client_id!r}, state={self.state.value})"

    @property
    def state(self) -> ConnectionState:
        return self._health.state

    @property
    def reason(self) -> str:
        """Why a reconnect is needed (empty while connected)."""
        return self._health.reason

    @property
    def tokens(self) -> TokenSet:
        return self._tokens

    async def access_token(self, session: aiohttp.ClientSession) -> str:
        self._health.check()
        current = self._tokens
        if self._unsaved is not None or current.expires_at - self.margin(current) <= self._clock():
            await self._refresh(session, current.access_token)
        return self._tokens.access_token

    def margin(self, tokens: TokenSet) -> float:
        """Seconds before ``tokens`` expire at which they are refreshed."""
        if tokens.issued_at is None:
            return self._margin
        return min(self._margin, (tokens.expires_at - tokens.issued_at) / 2)

    async def unauthorized(self, session: aiohttp.ClientSession, used: str) -> None:
        await self._refresh(session, used)

    async def adopt(self, tokens: TokenSet) -> None:
        """Take a pair saved by another process (a reconnect, or rotations made while it held the shop) unless it
        is not newer than ours; the connection is healthy again."""
        async with self._lock:
            if self._unsaved is None and tokens.expires_at > self._tokens.expires_at:
                self._tokens, self._health = tokens, _Health()

    def reconnect_needed(self, reason: str) -> AuthError:
        return self._health.fail(reason)

    async def _refresh(self, session: aiohttp.ClientSession, stale: str) -> None:
        """Refresh unless another caller already replaced ``stale`` while we waited for the lock, or another process
        rotated the grant (the pair it stored is read under the grant's hold, and taken)."""
        async with self._lock:
            self._health.check()
            if self._unsaved is None and self._tokens.access_token != stale:
                return
            async with self._grant.hold() as held:
                saved = held.stored
                if self._unsaved is None and saved is not None and saved.access_token != stale:
                    self._tokens = saved  # rotated elsewhere: never use older tokens
                    return
                if self._unsaved is None:
                    try:
                        self._unsaved = await self._app.refresh(session, self._tokens.refresh_token)
                    except AuthError as exc:
                        raise self._health.fail(f"refresh refused ({exc.message})") from exc
                await held.save(self._unsaved)  # durable before use; on failure we retry saving next call
            self._tokens, self._unsaved = self._unsaved, None
            self.refreshes += 1


class ApiTokenConnection:
    """A company API token generated in Pennylane's settings: static, never refreshed; a 401 kills it."""

    def __init__(self, token: Secret) -> None:
        self._token = token
        self._health = _Health()

    def __repr__(self) -> str:
        return f"ApiTokenConnection(token={self._token!r}, state={self.state.value})"

    @property
    def token(self) -> str:
        return self._token.reveal()

    @property
    def state(self) -> ConnectionState:
        return self._health.state

    @property
    def reason(self) -> str:
        return self._health.reason

    async def access_token(self, session: aiohttp.ClientSession) -> str:
        self._health.check()
        return self._token.reveal()

    async def unauthorized(self, session: aiohttp.ClientSession, used: str) -> None:
        raise self._health.fail("the company API token was refused (401); generate a new one")

    def reconnect_needed(self, reason: str) -> AuthError:
        return self._health.fail(reason)
