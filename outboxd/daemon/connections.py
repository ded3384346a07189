"""Connecting a shop to Pennylane, through OAuth or a company API token, and disconnecting it (each lane's client
itself is built by ``outboxd.daemon.clients``).

The OAuth dance (seed section 3): ``start`` gives the operator an authorize URL and remembers its ``state``;
Pennylane sends the browser back to our callback listener (or the operator pastes the URL it landed on), and
``complete`` trades the code for tokens, asks ``GET /me`` which company and scopes were granted, and stores
the tokens encrypted. Rotated refresh tokens are saved before use (``_persist``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

import structlog
from aiohttp import web

from outboxd.control.shapes import ConnectStart
from outboxd.daemon.clients import Clients
from outboxd.daemon.lanes import Lanes
from outboxd.delivery.lane import Lane
from outboxd.exceptions import AuthError, ConfigError, ControlError, OutboxdError
from outboxd.pennylane import ApiTokenConnection, Connection
from outboxd.secrets import Secret
from outboxd.store import Connection as StoredConnection
from outboxd.store import OAuthPending, Store

if TYPE_CHECKING:
    from outboxd.daemon.listeners import CallbackListener

__all__ = ["Connections"]

log = structlog.get_logger("outboxd.connections")

PENDING_FOR = dt.timedelta(minutes=30)
"""How long an authorize URL stays usable."""

CALLBACK_ACTOR = "oauth-callback"
"""The audit log's actor of a connect completed by the browser on the callback listener: the person is unknown
there; the ``connect.start`` row before it names who handed out the link."""


class Connections:
    """Connecting a shop (OAuth, with the callback page; a company API token) and disconnecting it."""

    def __init__(self, clients: Clients, lanes: Lanes, store: Store, redirect_uri: str) -> None:
        self.clients = clients
        self.lanes = lanes
        self.store = store
        self.redirect_uri = redirect_uri
        self.listener: CallbackListener | None = None
        """The callback listener, set once the daemon serves: it listens while an authorization is pending."""
        self.first_seen: Callable[[str], Awaitable[None]] | None = None
        """The backfiller's record of a shop's first connection (what the outbox holds then is its history), set
        once the daemon has one."""

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
        expires = dt.datetime.fromtimestamp(tokens.expires_at, dt.UTC)
        row = StoredConnection(
            lane.shop_id, "oauth", tokens.access_token, tokens.refresh_token, expires, tokens.scopes,
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
        stored = dataclasses.replace(current, scopes=me.scopes, company_id=me.company_id, company_name=me.company_name)
        await self.store.connections.save(stored)
        if self.first_seen is not None:  # before the lane can claim: rows written after this moment are live
            await self.first_seen(lane.shop_id)
        self.clients.connect(lane, client)
        log.info("connection.connected", shop=lane.shop_id, kind=row.kind, company=me.company_name)
        self.lanes.wake(lane.shop_id)
        return stored

    async def disconnect(self, shop_id: str) -> None:
        """Revoke the grant as stored (the owner may have rotated it since this replica's lane last saw it: revoking a
        spent refresh token leaves the grant alive), held so that no replica rotates it meanwhile."""
        lane = await self.lanes.lane(shop_id)
        async with self.store.connections.held(shop_id) as held:
            stored = held.stored
            if stored is not None and stored.kind == "oauth" and stored.state == "connected" and stored.refresh_token:
                try:
                    await self.clients.oauth_app().revoke(self.clients.session, stored.refresh_token)
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


def _page(title: str, text: str, *, status: int = 200) -> web.Response:
    body = (
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
    )
    return web.Response(text=body, content_type="text/html", status=status)
