"""OAuth 2 authorization code flow with Pennylane, protocol pieces from authlib, HTTP through our session.

Pennylane rotates refresh tokens: each refresh kills the old pair at once. This module only speaks the
protocol; keeping one refresh at a time and persisting the new pair is :mod:`outboxd.pennylane.auth`'s job.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import parse_authorization_code_response, prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from outboxd.exceptions import (
    AuthError,
    PennylaneError,
    PermanentError,
    RateLimited,
    RetryableError,
    UnknownOutcomeError,
)
from outboxd.pennylane.errors import error_for_response, error_for_transport, parse_error_message
from outboxd.secrets import Secret, redact

__all__ = ["BRIDGE_SCOPES", "OAuthApp", "TokenSet"]

BRIDGE_SCOPES: tuple[str, ...] = (
    "ledger_entries:all",
    "journals:all",
    "ledger_accounts:all",
    "fiscal_years:readonly",
    "customers:all",
)
"""The scopes the bridge asks for; ``GET /me`` tells which were granted."""

_TOKEN_TIMEOUT = aiohttp.ClientTimeout(total=30)


@dataclass(frozen=True)
class TokenSet:
    """An access/refresh pair; ``expires_at`` and ``issued_at`` are Unix times (``issued_at`` None: unknown, the
    access token's life is then taken as long). Its repr never shows the tokens."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float
    scopes: tuple[str, ...] = ()
    issued_at: float | None = None


@dataclass(frozen=True)
class OAuthApp:
    """One registered Pennylane partner app. The token URL is configurable: the spec says ``/oauth/oauth/token``,
    the guide ``/oauth/token``."""

    client_id: str
    client_secret: Secret
    authorize_url: str
    token_url: str
    revoke_url: str
    redirect_uri: str
    scopes: tuple[str, ...] = BRIDGE_SCOPES
    pkce: bool = False
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def authorization_request(self) -> tuple[str, str, str | None]:
        """``(url to open, state to check on return, PKCE code_verifier or None)``."""
        state = generate_token(32)
        verifier = generate_token(64) if self.pkce else None
        extra: dict[str, str] = {}
        if verifier is not None:
            extra = {"code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"}
        url = prepare_grant_uri(
            self.authorize_url, self.client_id, "code", self.redirect_uri, " ".join(self.scopes), state, **extra
        )
        return str(url), state, verifier

    def parse_redirect(self, redirect_url: str, expected_state: str) -> str:
        """The authorization code from the URL Pennylane sent the user back to, after checking ``state``."""
        params = dict(parse_qsl(urlsplit(redirect_url).query))
        if params.get("state") != expected_state:
            raise AuthError("authorization redirect: state does not match the request (stale or forged link)")
        if "error" in params:
            reason = params.get("error_description") or params["error"]
            if params["error"] == "access_denied":
                raise AuthError(f"authorization refused on Pennylane's page: {reason}")
            raise AuthError(f"authorization failed: {reason}")
        try:
            code = parse_authorization_code_response(redirect_url, expected_state)["code"]
        except Exception as exc:  # authlib raises its own OAuth2Error subclasses
            raise AuthError("authorization redirect carries no code") from exc
        return str(code)

    async def exchange_code(self, session: aiohttp.ClientSession, code: str, code_verifier: str | None) -> TokenSet:
        """Trade an authorization code for the first token pair."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        if code_verifier is not None:
            form["code_verifier"] = code_verifier
        return self._token_set(await self._post(session, self.token_url, form, "token exchange"))

    async def refresh(self, session: aiohttp.ClientSession, refresh_token: str) -> TokenSet:
        """A new pair for ``refresh_token``; the old pair is dead once this returns. ``invalid_grant`` -> AuthError.

        A transport failure after sending is an :class:`UnknownOutcomeError`: the server may have rotated the
        pair; trying again with the old refresh token then ends in ``invalid_grant`` (reconnect needed).
        """
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self._token_set(await self._post(session, self.token_url, form, "token refresh"))

    async def revoke(self, session: aiohttp.ClientSession, token: str) -> None:
        """Revoke a token (access or refresh) at Pennylane, when a shop disconnects."""
        await self._post(session, self.revoke_url, {"token": token}, "token revoke")

    def _token_set(self, body: dict[str, Any]) -> TokenSet:
        try:
            access, refresh = str(body["access_token"]), str(body["refresh_token"])
            expires_in = float(body.get("expires_in", 86400))
        except (KeyError, TypeError, ValueError) as exc:
            raise PermanentError("token endpoint answered without access_token/refresh_token") from exc
        scope = body.get("scope")
        scopes = tuple(scope.split()) if isinstance(scope, str) else self.scopes
        now = self.clock()
        return TokenSet(access, refresh, now + expires_in, scopes, now)

    async def _post(self, session: aiohttp.ClientSession, url: str, form: dict[str, str], what: str) -> dict[str, Any]:
        secrets: list[str | Secret] = [self.client_secret]
        secrets += [v for k, v in form.items() if k in ("code", "refresh_token", "token")]
        form = {**form, "client_id": self.client_id, "client_secret": self.client_secret.reveal()}
        try:
            async with session.post(url, data=form, timeout=_TOKEN_TIMEOUT) as response:
                status, text = response.status, await response.text()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise error_for_transport("POST", exc, what) from exc
        if status >= 400:
            raise self._oauth_error(status, redact(text, secrets), what)
        if not text.strip():
            return {}
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise UnknownOutcomeError(f"{what}: answer is not JSON", status=status) from exc
        if not isinstance(body, dict):
            raise UnknownOutcomeError(f"{what}: answer is not a JSON object", status=status)
        return body

    @staticmethod
    def _oauth_error(status: int, text: str, what: str) -> PennylaneError:
        try:
            code = json.loads(text).get("error", "")
        except (ValueError, AttributeError):
            code = ""
        message = f"{what}: {parse_error_message(text)}"
        if code in ("invalid_grant", "invalid_token", "unauthorized_client") or status == 401:
            return AuthError(message, status=status, body=text)
        if code == "invalid_client":
            return PermanentError(message + " (check client_id and client_secret)", status=status, body=text)
        error = error_for_response("POST", status, text, {})
        if isinstance(error, RateLimited):
            return error
        if isinstance(error, RetryableError | UnknownOutcomeError):
            return type(error)(message, status=status, body=text)
        return PermanentError(message, status=status, body=text)
