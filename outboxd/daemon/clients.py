"""Each lane's Pennylane client: built at start or first sight of a shop from a company API token in the
configuration or the grant stored in the state database, and rebuilt by a connect.

Every token is registered with the log redactor as soon as it is read or rotated; a rotated OAuth pair is saved
before it is used (``persist``), and a client's rate limiter starts from the token's last window in the state
database, so a restart does not overshoot Pennylane's limit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
import structlog

from outboxd.config import Config
from outboxd.delivery.deliver import trace_exchange
from outboxd.delivery.lane import Lane
from outboxd.delivery.resolver import Resolver
from outboxd.exceptions import ConfigError, ControlError
from outboxd.log import Redactor
from outboxd.metrics import Metrics
from outboxd.pennylane import (
    ApiTokenConnection,
    Connection,
    Exchange,
    HeldGrant,
    OAuthApp,
    OAuthConnection,
    PennylaneClient,
    RateLimiter,
    TokenSet,
    TraceHook,
)
from outboxd.secrets import Secret, read_secret
from outboxd.store import Connection as StoredConnection
from outboxd.store import Store
from outboxd.store.connections import HeldConnection
from outboxd.store.rate_windows import RateWindow

__all__ = ["Clients"]

log = structlog.get_logger("outboxd.connections")


class Clients:
    """Each lane's Pennylane client, built from a configured company API token or the stored grant; every token
    registered with the log redactor, rotated ones saved before use."""

    def __init__(
        self, config: Config, store: Store, session: aiohttp.ClientSession, redactor: Redactor, metrics: Metrics
    ) -> None:
        self.config = config
        self.store = store
        self.session = session
        self.redactor = redactor
        self.metrics = metrics
        self._app: OAuthApp | None = None

    def oauth_app(self) -> OAuthApp:
        if self._app is None:
            pennylane = self.config.pennylane
            if not pennylane.client_id or not pennylane.client_secret_file:
                raise ControlError(
                    "OAuth is not configured: set pennylane.client_id and pennylane.client_secret_file "
                    "(or give the shop a company API token)"
                )
            self._app = OAuthApp(
                client_id=pennylane.client_id,
                client_secret=self.registered(read_secret(pennylane.client_secret_file)),
                authorize_url=pennylane.authorize_url,
                token_url=pennylane.token_url,
                revoke_url=pennylane.revoke_url,
                redirect_uri=self.config.redirect_uri,
                scopes=pennylane.scopes,
                pkce=pennylane.pkce,
            )
        return self._app

    def registered(self, secret: Secret, shop_id: str | None = None) -> Secret:
        """``secret``, known to the log redactor from now on."""
        if shop_id is None:  # the client secret: for as long as the process runs
            self.redactor.register_secret(secret)
        else:  # a shop's token: until it is replaced twice (the log redactor holds live secrets only)
            self.redactor.live(_owner(shop_id), secret)
        return secret

    def client(self, shop_id: str, connection: Connection) -> PennylaneClient:
        """A client on ``connection`` whose limiter starts from the token's last window in the state database."""
        limit = self.config.pennylane.rate_limit
        window = RateWindow(self.store.db, self.store.clock, shop_id)
        return PennylaneClient(
            self.session,
            self.config.pennylane.api_url,
            connection,
            RateLimiter(limit.requests, limit.per_seconds, send_log=window),
            timeout=self.config.pennylane.request_timeout,
            trace=self._trace(shop_id),
        )

    def _trace(self, shop_id: str) -> TraceHook:
        """Each exchange filed under its delivery's attempt and counted by status (``none``: no answer)."""
        metrics = self.metrics

        def trace(exchange: Exchange) -> None:
            trace_exchange(exchange)
            metrics.inc("outboxd_http_responses_total", shop=shop_id, status=str(exchange.status or "none"))

        return trace

    def attach(self, lane: Lane, connection: Connection) -> PennylaneClient:
        """A new client on ``connection``, and the lane connected through it."""
        return self.connect(lane, self.client(lane.shop_id, connection))

    def connect(self, lane: Lane, client: PennylaneClient) -> PennylaneClient:
        """The lane connected through ``client``."""
        lane.connect(client, Resolver(lane.shop_id, client, self.store, mapping=lane.mapping))
        return client

    def oauth(self, shop_id: str, tokens: TokenSet) -> OAuthConnection:
        """An OAuth connection on ``tokens``, its grant as the state database keeps it for every replica."""
        self.redactor.live(_owner(shop_id), tokens.access_token, tokens.refresh_token)
        return OAuthConnection(self.oauth_app(), tokens, StoredGrant(self.store, self.redactor, shop_id))

    async def restore(self, lane: Lane) -> None:
        """At start, first sight of a shop, or (replicas) when its stored connection changed or its lane is taken
        over: a configured API token, else the stored connection, else none. A lane's OAuth client is kept, its
        tokens swapped for the stored ones when those are newer (its limiter keeps the token's window)."""
        shop = self.config.shops.get(lane.shop_id)
        if shop is not None and shop.api_token_file:
            if lane.client is None:
                await self._configured(lane, self.registered(read_secret(shop.api_token_file), lane.shop_id))
            return
        stored = await self.store.connections.get(lane.shop_id)
        if stored is None or stored.state != "connected":
            lane.disconnect()
            if stored is not None and stored.state == "reconnect_needed":
                lane.reconnect_needed("Pennylane refused the tokens: connect the shop again")
            return
        current = lane.client.connection if lane.client is not None else None
        if stored.kind == "oauth" and isinstance(current, OAuthConnection):
            self.redactor.live(_owner(lane.shop_id), stored.access_token, stored.refresh_token or "")
            await current.adopt(_token_set(stored))
        elif stored.kind == "api_token":
            if not (isinstance(current, ApiTokenConnection) and current.token == stored.access_token):
                self.attach(lane, ApiTokenConnection(self.registered(Secret(stored.access_token), lane.shop_id)))
        else:
            self.attach(lane, self.oauth(lane.shop_id, _token_set(stored)))

    async def _configured(self, lane: Lane, token: Secret) -> None:
        """A company API token from the configuration file, with a row of its own in the state database so that
        Pennylane refusing it (``reconnect_needed``, set on a 401) outlives a restart: the same token is not tried
        again; a new one written to the file is. A stored OAuth grant is left as it is (the token wins meanwhile);
        a row the token key cannot read any more is replaced."""
        try:
            stored = await self.store.connections.get(lane.shop_id)
        except ConfigError:
            stored = None
        if stored is not None and stored.kind == "api_token" and stored.access_token == token.reveal():
            if stored.state == "reconnect_needed":
                lane.reconnect_needed("Pennylane refused the company API token: write a new one to its file, restart")
                return
        elif stored is None or stored.kind == "api_token":
            row = StoredConnection(lane.shop_id, "api_token", token.reveal(), None, None, (), None, None, "connected")
            await self.store.connections.save(row)
        self.attach(lane, ApiTokenConnection(token))


class StoredGrant:
    """A shop's OAuth grant in the state database (an ``outboxd.pennylane.SharedGrant``): held around a refresh (the
    row locked among replicas on PostgreSQL)."""

    def __init__(self, store: Store, redactor: Redactor, shop_id: str) -> None:
        self._store = store
        self._redactor = redactor
        self._shop_id = shop_id

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[HeldGrant]:
        async with self._store.connections.held(self._shop_id) as held:
            yield _HeldGrant(held, self._redactor, self._shop_id)


@dataclass(frozen=True)
class _HeldGrant:
    """The grant as held: the stored pair when the row is a connected grant, a rotated pair saved inside the hold;
    every token registered with the log redactor."""

    held: HeldConnection
    redactor: Redactor
    shop_id: str

    @property
    def stored(self) -> TokenSet | None:
        row = self.held.stored
        if row is None or row.kind != "oauth" or row.state != "connected":
            return None
        self.redactor.live(_owner(self.shop_id), row.access_token, row.refresh_token or "")
        return _token_set(row)

    async def save(self, tokens: TokenSet) -> None:
        self.redactor.live(_owner(self.shop_id), tokens.access_token, tokens.refresh_token)
        await self.held.save_tokens(tokens.access_token, tokens.refresh_token, _when(tokens.expires_at))
        log.info("token.rotated", shop=self.shop_id)


def _owner(shop_id: str) -> str:
    """Whose secrets a shop's tokens are, for the log redactor."""
    return f"shop {shop_id}"


def _when(unix: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(unix, dt.UTC)


def _token_set(row: StoredConnection) -> TokenSet:
    expires = row.expires_at.timestamp() if row.expires_at else 0.0
    # a connected grant's row changes only when its tokens are saved: when they were issued, near enough
    issued = row.updated_at.timestamp() if row.updated_at else None
    return TokenSet(row.access_token, row.refresh_token or "", expires, row.scopes, issued)
