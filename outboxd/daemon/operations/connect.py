"""Connecting shops for the operator: OAuth start and complete, a company API token, disconnect, and the
``Connection`` every status shows (the stored grant joined with the lane's live health, never a token).

The work is :class:`outboxd.daemon.connections.Connections`'; this part audits the operator's calls and
remembers which authorize URLs it handed out, so a shop shows ``pending`` until the browser comes back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

from outboxd.control.shapes import Connection, ConnectStart, LaneConnectionState
from outboxd.daemon.connections import Connections
from outboxd.daemon.operations.token_file import read_token_file
from outboxd.delivery.lane import Lane
from outboxd.exceptions import BadRequest, ControlError, PennylaneError
from outboxd.pennylane import ConnectionState, Me, PennylaneClient
from outboxd.store import Store

__all__ = ["ShopConnections"]


class ShopConnections:
    """The ``connect_*`` and ``disconnect`` calls of the control API, and the ``Connection`` shape."""

    def __init__(self, connections: Connections, store: Store, scopes: Sequence[str], token_files: Path) -> None:
        self._connections = connections
        self.store = store
        self.scopes = scopes
        """The scopes the daemon asks for: a grant without one of them shows it missing."""
        self.token_files = token_files
        """The one directory company API token files are read from (``secrets.token_files_directory``)."""
        self._me: dict[str, tuple[PennylaneClient, Me]] = {}  # shops connected by a configured token: GET /me once
        self._pending: dict[str, float] = {}  # shop -> expiry of the authorize URL handed out

    async def start(self, lane: Lane, actor: str) -> ConnectStart:
        started = await self._connections.start(lane.shop_id)
        self._pending[lane.shop_id] = started["expires_at"]
        await self.store.audit.append(actor, "connect.start", shop_id=lane.shop_id)
        return started

    async def complete(self, lane: Lane, actor: str, redirect_url: str) -> Connection:
        try:
            await self._connections.complete(redirect_url, actor, lane.shop_id)  # audited there
        except ControlError as exc:
            raise BadRequest(str(exc)) from exc
        self._pending.pop(lane.shop_id, None)
        return await self.connection(lane)

    async def token(self, lane: Lane, actor: str, token_file: str) -> Connection:
        token = await asyncio.to_thread(read_token_file, self.token_files, token_file)
        stored = await self._connections.use_token(lane.shop_id, token)
        detail = {"kind": "api_token", "token_file": token_file, "company": stored.company_name}
        await self.store.audit.append(actor, "connect.token", shop_id=lane.shop_id, detail=detail)
        return await self.connection(lane)

    async def disconnect(self, lane: Lane, actor: str) -> Connection:
        await self._connections.disconnect(lane.shop_id)
        self._pending.pop(lane.shop_id, None)  # an OAuth start completed by the callback listener left it here
        await self.store.audit.append(actor, "connect.disconnect", shop_id=lane.shop_id)
        return await self.connection(lane)

    async def connection(self, lane: Lane) -> Connection:
        """The shop's ``Connection``: the stored grant, the lane's live health, never a token."""
        shop_id, client = lane.shop_id, lane.client
        stored = await self.store.connections.get(shop_id)
        kind, company_id, company_name, expires = None, None, None, None
        scopes: tuple[str, ...] = ()
        if stored is not None and stored.state != "disconnected":
            kind, company_id, company_name, scopes = stored.kind, stored.company_id, stored.company_name, stored.scopes
            expires = stored.expires_at.timestamp() if stored.expires_at else None
        if company_id is None and client is not None and (me := await self._whoami(shop_id, client)) is not None:
            kind, company_id, company_name, scopes = "api_token", me.company_id, me.company_name, me.scopes
        dead = client is not None and client.connection.state is ConnectionState.RECONNECT_NEEDED
        state: LaneConnectionState
        if lane.reconnect_reason or dead:
            state = "reconnect_needed"
        elif lane.connected:
            state = "connected"
        elif self._pending.get(shop_id, 0.0) > time.time():
            state = "pending"
        else:
            state = "reconnect_needed" if stored is not None and stored.state == "reconnect_needed" else "disconnected"
        wanted = self.scopes
        return {"state": state, "kind": kind, "company_id": company_id, "company_name": company_name,
                "scopes": list(scopes), "missing_scopes": [s for s in wanted if kind and s not in scopes],
                "expires_at": expires}  # fmt: skip

    async def _whoami(self, shop_id: str, client: PennylaneClient) -> Me | None:
        """The company behind a token given in the configuration (stored without it): asked once per client."""
        known = self._me.get(shop_id)
        if known is not None and known[0] is client:
            return known[1]
        try:
            me = await client.me()
        except PennylaneError:
            return None
        self._me[shop_id] = (client, me)
        return me
