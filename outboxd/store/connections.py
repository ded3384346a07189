"""Each shop's Pennylane connection and the OAuth flows in progress; secrets encrypted at rest.

Encryption is done by the injected cipher (outboxd.secrets.TokenCipher): the database file only ever holds
ciphertext, so a copied or backed-up state file does not leak tokens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

from outboxd.exceptions import StoreError
from outboxd.store._db import Clock, Database, Params, Row, from_text, maybe_time, to_text
from outboxd.store.models import Cipher, Connection, ConnectionState, OAuthPending

__all__ = ["Connections", "HeldConnection"]

_SAVE = (
    "INSERT INTO connections (shop_id, kind, access_token_ct, refresh_token_ct, expires_at, scopes, "
    "company_id, company_name, state, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
    "ON CONFLICT (shop_id) DO UPDATE SET kind = excluded.kind, access_token_ct = excluded.access_token_ct, "
    "refresh_token_ct = excluded.refresh_token_ct, expires_at = excluded.expires_at, scopes = excluded.scopes, "
    "company_id = excluded.company_id, company_name = excluded.company_name, state = excluded.state, "
    "updated_at = excluded.updated_at"
)
_SAVE_TOKENS = (
    "UPDATE connections SET access_token_ct = $1, refresh_token_ct = $2, expires_at = $3, state = 'connected', "
    "updated_at = $4 WHERE shop_id = $5"
)
_SET_STATE = "UPDATE connections SET state = $1, updated_at = $2 WHERE shop_id = $3"
"""The writes of connection rows, each run through ``Connections._changing``."""

Write = Callable[[str, Params], Awaitable[int]]
SaveTokens = Callable[[str, str | None, dt.datetime | None], Awaitable[None]]


@dataclass(frozen=True)
class HeldConnection:
    """A shop's connection held against every other process until the hold ends (:meth:`Connections.held`)."""

    stored: Connection | None
    """The row as read once held."""
    save_tokens: SaveTokens
    """Persist a rotated pair ``(access, refresh, expires_at)`` within the hold."""


class Connections:
    def __init__(self, db: Database, clock: Clock, cipher: Cipher | None) -> None:
        self._db = db
        self._clock = clock
        self._cipher_or_none = cipher

    @property
    def _cipher(self) -> Cipher:
        if self._cipher_or_none is None:
            raise StoreError("no token cipher configured: open the store with cipher=... to keep connections")
        return self._cipher_or_none

    async def save(self, connection: Connection) -> None:
        """Insert or replace the shop's connection (after a connect, or a switch to an API token)."""
        c = self._cipher
        await self._db.write(
            self._changing(_SAVE),
            (connection.shop_id, connection.kind, c.encrypt(connection.access_token),
             None if connection.refresh_token is None else c.encrypt(connection.refresh_token),
             None if connection.expires_at is None else to_text(connection.expires_at), " ".join(connection.scopes),
             connection.company_id, connection.company_name, connection.state, to_text(self._clock())),
        )  # fmt: skip

    async def save_tokens(
        self, shop_id: str, access_token: str, refresh_token: str | None, expires_at: dt.datetime | None
    ) -> None:
        """Persist a rotated token pair (before using it: the old pair is dead at Pennylane already)."""
        await self._save_tokens(self._db.write, shop_id, access_token, refresh_token, expires_at)

    @asynccontextmanager
    async def held(self, shop_id: str) -> AsyncIterator[HeldConnection]:
        """The shop's connection held against every other process that may refresh its grant, read once held; a
        refresh happens inside, its pair saved within. SQLite has one daemon per state file: nothing to hold
        (PostgreSQL locks the row: ``store/pg/connections.py``)."""
        yield HeldConnection(await self.get(shop_id), partial(self.save_tokens, shop_id))

    async def _save_tokens(
        self, write: Write, shop_id: str, access_token: str, refresh_token: str | None, expires_at: dt.datetime | None
    ) -> None:
        c = self._cipher
        changed = await write(
            self._changing(_SAVE_TOKENS),
            (c.encrypt(access_token), None if refresh_token is None else c.encrypt(refresh_token),
             None if expires_at is None else to_text(expires_at), to_text(self._clock()), shop_id),
        )  # fmt: skip
        if changed != 1:
            raise StoreError(f"shop {shop_id} has no connection to update")

    def _changing(self, statement: str) -> str:
        """``statement``, a write of connection rows, as this backend runs it (PostgreSQL tells the replicas)."""
        return statement

    async def get(self, shop_id: str) -> Connection | None:
        row = await self._db.read_one("SELECT * FROM connections WHERE shop_id = $1", (shop_id,))
        return None if row is None else self._from_row(row)

    async def versions(self) -> dict[str, str]:
        """Each stored connection's last change (``updated_at``), by shop: replicas follow a connect, reconnect or
        disconnect made through another one by it, without decrypting anything."""
        return {r[0]: r[1] for r in await self._db.read("SELECT shop_id, updated_at FROM connections")}

    async def all(self) -> list[Connection]:
        return [self._from_row(r) for r in await self._db.read("SELECT * FROM connections ORDER BY shop_id")]

    def _decrypt(self, ciphertext: str) -> str:
        clear = self._cipher.decrypt(ciphertext)
        return clear if isinstance(clear, str) else clear.reveal()

    def _from_row(self, r: Row) -> Connection:
        refresh = None if r["refresh_token_ct"] is None else self._decrypt(r["refresh_token_ct"])
        return Connection(
            r["shop_id"], r["kind"], self._decrypt(r["access_token_ct"]), refresh,
            maybe_time(r["expires_at"]), tuple(r["scopes"].split()), r["company_id"], r["company_name"], r["state"],
            from_text(r["updated_at"]),
        )  # fmt: skip

    async def set_state(self, shop_id: str, state: ConnectionState) -> None:
        await self._db.write(
            self._changing(_SET_STATE),
            (state, to_text(self._clock()), shop_id),
        )

    async def add_pending(self, pending: OAuthPending) -> None:
        """An authorization started: its state and PKCE verifier, until the browser comes back."""
        await self._db.write(
            "INSERT INTO oauth_pending (state, shop_id, code_verifier_ct, created_at, expires_at) "
            "VALUES ($1, $2, $3, $4, $5)",
            (pending.state, pending.shop_id, self._cipher.encrypt(pending.code_verifier), to_text(self._clock()),
             to_text(pending.expires_at)),
        )  # fmt: skip

    async def pending_until(self) -> dt.datetime | None:
        """When the last authorization still pending expires; None when none is (the callback listener closes)."""
        row = await self._db.read_one(
            "SELECT max(expires_at) FROM oauth_pending WHERE expires_at > $1", (to_text(self._clock()),)
        )
        return None if row is None or row[0] is None else from_text(row[0])

    async def take_pending(self, state: str) -> OAuthPending | None:
        """Return and delete the pending authorization (single use); expired ones are purged on the way."""
        now = to_text(self._clock())
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "DELETE FROM oauth_pending WHERE state = $1 RETURNING shop_id, code_verifier_ct, expires_at", (state,)
            )
            await tx.execute("DELETE FROM oauth_pending WHERE expires_at < $1", (now,))
        if row is None:
            return None
        return OAuthPending(state, row[0], self._decrypt(row[1]), from_text(row[2]))
