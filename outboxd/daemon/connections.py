"""Each shop's Pennylane connection: restored at start (``Clients``), made through OAuth or a company API token,
undone (``Connections``).

The OAuth dance (seed section 3): ``start`` gives the operator an authorize URL and remembers its ``state``;
Pennylane sends the browser back to our callback listener (or the operator pastes the URL it landed on), and
``complete`` trades the code for tokens, asks ``GET /me`` which company and scopes were granted, and stores
the tokens encrypted. Rotated refresh tokens are saved before use (``_persist``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import structlog
from aiohttp import web

from outboxd.config import Config
from outboxd.control.shapes import ConnectStart
from outboxd.daemon.lanes import Lanes
from outboxd.delivery.deliver import trace_exchange
from outboxd.delivery.lane import Lane
from outboxd.delivery.resolver import Resolver
from outboxd.exceptions import AuthError, ConfigError, ControlError, OutboxdError
from outboxd.log import Redactor
from outboxd.metrics import Metrics
from outboxd.pennylane import (
    ApiTokenConnection,
    Connection,
    Exchange,
    OAuthApp,
    OAuthConnection,
    PennylaneClient,
    RateLimiter,
    TokenSet,
    TraceHook,
)
from outboxd.secrets import Secret, read_secret
from outboxd.store import Connection as StoredConnection
from outboxd.store import OAuthPending, Store
from outboxd.store.rate_windows import RateWindow

if TYPE_CHECKING:
    from outboxd.daemon.listeners import CallbackListener

__all__ = ["Clients", "Connections"]

log = structlog.get_logger("outboxd.connections")

PENDING_FOR = dt.timedelta(minutes=30)
"""How long an authorize URL stays usable."""

CALLBACK_ACTOR = "oauth-callback"
"""The audit log's actor of a connect completed by the browser on the callback listener: the person is unknown
there; the ``connect.start`` row before it names who handed out the link."""


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
        """An OAuth connection on ``tokens`` whose rotated tokens are saved before use."""
        self.redactor.live(_owner(shop_id), tokens.access_token, tokens.refresh_token)

        async def persist(new: TokenSet) -> None:
            self.redactor.live(_owner(shop_id), new.access_token, new.refresh_token)
            await self.store.connections.save_tokens(
                shop_id, new.access_token, new.refresh_token, _when(new.expires_at)
            )
            log.info("token.rotated", shop=shop_id)

        return OAuthConnection(self.oauth_app(), tokens, persist)

    async def restore(self, lane: Lane) -> None:
        """At start or first sight of a shop: a configured API token, else the stored connection, else nothing."""
        shop = self.config.shops.get(lane.shop_id)
        if shop is not None and shop.api_token_file:
            await self._configured(lane, self.registered(read_secret(shop.api_token_file), lane.shop_id))
            return
        stored = await self.store.connections.get(lane.shop_id)
        if stored is None or stored.state == "disconnected":
            return
        if stored.state == "reconnect_needed":
            lane.reconnect_needed("Pennylane refused the tokens: connect the shop again")
            return
        if stored.kind == "api_token":
            self.attach(lane, ApiTokenConnection(self.registered(Secret(stored.access_token), lane.shop_id)))
            return
        expires = stored.expires_at.timestamp() if stored.expires_at else 0.0
        # a connected grant's row changes only when its tokens are saved: when they were issued, near enough
        issued = stored.updated_at.timestamp() if stored.updated_at else None
        tokens = TokenSet(stored.access_token, stored.refresh_token or "", expires, stored.scopes, issued)
        self.attach(lane, self.oauth(lane.shop_id, tokens))

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


class Connections:
    """Connecting a shop (OAuth, with the callback page; a company API token) and disconnecting it."""

    def __init__(self, clients: Clients, lanes: Lanes, store: Store, redirect_uri: str) -> None:
        self.clients = clients
        self.lanes = lanes
        self.store = store
        self.redirect_uri = redirect_uri
        self.listener: CallbackListener | None = None
        """The callback listener, set once the daemon serves: it listens while an authorization is pending."""

    async def start(self, shop_id: str) -> ConnectStart:
        url, state, verifier = self.clients.oauth_app().authorization_request()
        expires = dt.datetime.now(dt.UTC) + PENDING_FOR
        await self.store.connections.add_pending(OAuthPending(state, shop_id, verifier or "", expires))
        await self.follow_pending()
        return {
            "authorize_url": url,
            "state": state,
            "redirect_uri": self.redirect_uri,
            "expires_at": expires.timestamp(),
        }

    async def complete(self, redirect_url: str, actor: str, shop_id: str | None = None) -> tuple[str, StoredConnection]:
        """Finish an OAuth connect from the URL Pennylane sent the browser back to; audited as ``actor``'s."""
        state = dict(parse_qsl(urlsplit(redirect_url).query)).get("state", "")
        pending = await self.store.connections.take_pending(state)
        await self.follow_pending()  # this state is used up, whatever follows
        if pending is None or pending.expires_at < dt.datetime.now(dt.UTC):
            raise ControlError("this authorization link is unknown or expired: start the connection again")
        if shop_id is not None and pending.shop_id != shop_id:
            raise ControlError(f"this authorization was started for shop {pending.shop_id}, not {shop_id}")
        app = self.clients.oauth_app()
        code = app.parse_redirect(redirect_url, state)
        tokens = await app.exchange_code(self.clients.session, code, pending.code_verifier or None)
        lane = await self.lanes.lane(pending.shop_id)
        row = StoredConnection(
            lane.shop_id, "oauth", tokens.access_token, tokens.refresh_token, _when(tokens.expires_at), tokens.scopes,
            None, None, "connected",
        )  # fmt: skip
        stored = await self._connect(lane, self.clients.oauth(lane.shop_id, tokens), row)
        detail = {"kind": "oauth", "company": stored.company_name}
        await self.store.audit.append(actor, "connect.complete", shop_id=pending.shop_id, detail=detail)
        return pending.shop_id, stored

    async def use_token(self, shop_id: str, token: Secret) -> StoredConnection:
        """Connect ``shop_id`` with a company API token (read by the caller from the token directory)."""
        self.clients.registered(token, shop_id)
        lane = await self.lanes.lane(shop_id)
        row = StoredConnection(shop_id, "api_token", token.reveal(), None, None, (), None, None, "connected")
        return await self._connect(lane, ApiTokenConnection(token), row)

    async def _connect(self, lane: Lane, connection: Connection, row: StoredConnection) -> StoredConnection:
        """Store ``row``, ask Pennylane which company the connection reaches (``GET /me``), then connect the lane.

        Stored first: that call may refresh OAuth tokens (a short-lived or early-dead access token), and the rotated
        pair is saved into this row before it is used. If the call fails, the shop's previous row comes back and its
        lane keeps its client.
        """
        try:
            previous = await self.store.connections.get(lane.shop_id)
        except ConfigError:  # a row the token key cannot read any more: replaced
            previous = None
        await self.store.connections.save(row)
        client = self.clients.client(lane.shop_id, connection)
        try:
            me = await client.me()
        except OutboxdError:
            if previous is not None:
                await self.store.connections.save(previous)
            else:
                await self.store.connections.set_state(lane.shop_id, "disconnected")
            raise
        current = await self.store.connections.get(lane.shop_id)  # the tokens as last rotated: nothing else uses them
        assert current is not None
        stored = dataclasses.replace(
            current, scopes=me.scopes, company_id=me.company_id, company_name=me.company_name
        )
        await self.store.connections.save(stored)
        self.clients.connect(lane, client)
        log.info("connection.connected", shop=lane.shop_id, kind=row.kind, company=me.company_name)
        self.lanes.wake(lane.shop_id)
        return stored

    async def disconnect(self, shop_id: str) -> None:
        lane = await self.lanes.lane(shop_id)
        client = lane.client
        if client is not None and isinstance(client.connection, OAuthConnection):
            try:
                await self.clients.oauth_app().revoke(self.clients.session, client.connection.tokens.refresh_token)
            except OutboxdError as exc:
                log.warning("connection.revoke_failed", shop=shop_id, reason=str(exc))
        lane.disconnect()
        await self.store.connections.set_state(shop_id, "disconnected")
        log.info("connection.disconnected", shop=shop_id)

    # -- the OAuth callback listener --------------------------------------------------------------------------

    async def follow_pending(self) -> None:
        """Keep the callback listener open until the last pending authorization expires; none: close it."""
        if self.listener is not None:
            await self.listener.follow(await self.store.connections.pending_until())

    async def callback_page(self, request: web.Request) -> web.Response:
        try:
            shop_id, stored = await self.complete(str(request.url), CALLBACK_ACTOR)
        except (ControlError, AuthError, OutboxdError) as exc:
            return _page("Connection failed", str(exc), status=400)
        text = f"Shop {shop_id} is now connected to {stored.company_name}. You can close this tab."
        return _page("Connected to Pennylane", text)


def _owner(shop_id: str) -> str:
    """Whose secrets a shop's tokens are, for the log redactor."""
    return f"shop {shop_id}"


def _when(unix: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(unix, dt.UTC)


def _page(title: str, text: str, *, status: int = 200) -> web.Response:
    body = (
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
    )
    return web.Response(text=body, content_type="text/html", status=status)
