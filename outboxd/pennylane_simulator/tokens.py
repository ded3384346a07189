"""Who may call the simulated API: OAuth apps, authorization codes, access/refresh pairs, company API tokens.

Rotation is Pennylane's: each refresh returns a new pair and kills the old refresh AND access token at
once. Refusals are values (``Refusal``) that the OAuth routes turn into ``{"error": ...}`` bodies.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["ACCESS_TOKEN_LIFETIME", "ALL_SCOPES", "AccessToken", "Refusal", "TokenPair", "TokenStore"]

ALL_SCOPES: tuple[str, ...] = (
    "customers:all",
    "fiscal_years:readonly",
    "journals:all",
    "ledger_accounts:all",
    "ledger_entries:all",
)
ACCESS_TOKEN_LIFETIME = 86_400  # what expires_in announces: 24 h
CODE_LIFETIME = 600


@dataclass(frozen=True, slots=True)
class Refusal:
    """An OAuth error: ``error`` is the RFC 6749 code (invalid_grant, invalid_client...)."""

    error: str
    status: int = 400


@dataclass(slots=True)
class AccessToken:
    token: str
    company_id: int
    scopes: tuple[str, ...]
    expires_at: float
    refresh_token: str | None = None  # None for a company API token, which never expires


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    scopes: tuple[str, ...]
    expires_in: int = ACCESS_TOKEN_LIFETIME

    def body(self) -> dict[str, object]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "scope": " ".join(self.scopes),
        }


@dataclass(slots=True)
class _App:
    client_secret: str
    redirect_uris: tuple[str, ...]


@dataclass(slots=True)
class _Code:
    client_id: str
    redirect_uri: str
    company_id: int
    scopes: tuple[str, ...]
    challenge: str
    expires_at: float


@dataclass(slots=True)
class _Refresh:
    client_id: str
    company_id: int
    scopes: tuple[str, ...]
    access_token: str


@dataclass
class TokenStore:
    """All credentials of the sandbox. ``clock`` gives Unix seconds; ``access_ttl`` is the real lifetime,
    ``lifetime`` the one ``expires_in`` announces."""

    clock: Callable[[], float]
    access_ttl: Callable[[], float]
    lifetime: int = ACCESS_TOKEN_LIFETIME
    apps: dict[str, _App] = field(default_factory=dict)
    codes: dict[str, _Code] = field(default_factory=dict)
    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, _Refresh] = field(default_factory=dict)
    spent: set[str] = field(default_factory=set)
    """Refresh tokens already rotated away."""
    reused: int = 0
    """Refreshes asked with a refresh token already rotated away: a client that lost a rotation (never expected)."""

    def register_app(self, client_id: str, client_secret: str, redirect_uris: tuple[str, ...]) -> None:
        self.apps[client_id] = _App(client_secret, redirect_uris)

    def check_app(self, client_id: str, redirect_uri: str) -> None:
        """Raise ValueError unless the app exists and the redirect URI is one it registered."""
        app = self.apps.get(client_id)
        if app is None:
            raise ValueError(f"unknown client_id {client_id!r}")
        if redirect_uri not in app.redirect_uris:
            raise ValueError(f"redirect_uri {redirect_uri!r} is not registered for {client_id!r}")

    def api_token(self, company_id: int, scopes: tuple[str, ...]) -> str:
        token = "sbx_api_" + secrets.token_hex(16)
        self.access[token] = AccessToken(token, company_id, scopes, float("inf"))
        return token

    def issue_code(self, client_id: str, redirect_uri: str, company_id: int, scopes: tuple[str, ...],
                   challenge: str = "") -> str:
        code = "sbx_code_" + secrets.token_hex(16)
        self.codes[code] = _Code(client_id, redirect_uri, company_id, scopes, challenge,
                                 self.clock() + CODE_LIFETIME)
        return code

    def _client(self, client_id: str, client_secret: str) -> Refusal | None:
        app = self.apps.get(client_id)
        if app is None or not secrets.compare_digest(app.client_secret, client_secret):
            return Refusal("invalid_client", 401)
        return None

    def exchange_code(self, client_id: str, client_secret: str, redirect_uri: str, code: str,
                      verifier: str = "") -> TokenPair | Refusal:
        refused = self._client(client_id, client_secret)
        if refused:
            return refused
        grant = self.codes.pop(code, None)  # a code works once, even when the exchange fails
        if grant is None or grant.client_id != client_id or grant.expires_at < self.clock():
            return Refusal("invalid_grant")
        if grant.redirect_uri != redirect_uri:
            return Refusal("invalid_grant")
        if grant.challenge and _s256(verifier) != grant.challenge:
            return Refusal("invalid_grant")
        return self._pair(client_id, grant.company_id, grant.scopes)

    def rotate(self, client_id: str, client_secret: str, refresh_token: str, *, revoked: bool) -> TokenPair | Refusal:
        """Refresh: the old refresh and access tokens die now, whatever happens next."""
        refused = self._client(client_id, client_secret)
        if refused:
            return refused
        old = self.refresh.pop(refresh_token, None)
        if old is None and refresh_token in self.spent:
            self.reused += 1
        if old is None or old.client_id != client_id:
            return Refusal("invalid_grant")
        self.spent.add(refresh_token)
        self.access.pop(old.access_token, None)
        if revoked:
            return Refusal("invalid_grant")
        return self._pair(client_id, old.company_id, old.scopes)

    def revoke(self, client_id: str, client_secret: str, token: str) -> Refusal | None:
        """Revoking either half of a pair kills both (RFC 7009 allows it; it is what a disconnect means)."""
        refused = self._client(client_id, client_secret)
        if refused:
            return refused
        pair = self.refresh.pop(token, None)
        if pair is not None:
            self.access.pop(pair.access_token, None)
        access = self.access.pop(token, None)
        if access is not None and access.refresh_token:
            self.refresh.pop(access.refresh_token, None)
        return None

    def lookup(self, token: str) -> AccessToken | None:
        """The live access token, or None when unknown, revoked or expired (Pennylane's 401 cannot tell)."""
        access = self.access.get(token)
        if access is None or access.expires_at <= self.clock():
            return None
        return access

    def expire_all(self) -> int:
        """Early expiry: every OAuth access token issued so far stops working now."""
        now = self.clock()
        expired = [a for a in self.access.values() if a.refresh_token is not None and a.expires_at > now]
        for access in expired:
            access.expires_at = now
        return len(expired)

    def _pair(self, client_id: str, company_id: int, scopes: tuple[str, ...]) -> TokenPair:
        access = "sbx_at_" + secrets.token_hex(16)
        refresh = "sbx_rt_" + secrets.token_hex(16)
        self.access[access] = AccessToken(access, company_id, scopes, self.clock() + self.access_ttl(), refresh)
        self.refresh[refresh] = _Refresh(client_id, company_id, scopes, access)
        return TokenPair(access, refresh, scopes, self.lifetime)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
