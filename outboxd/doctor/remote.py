"""Checks that ask Pennylane: each shop's token with ``GET /me`` (company, scopes, expiry) and the clock.

The doctor never refreshes an OAuth token: Pennylane rotates the pair on every refresh, which would kill the pair
the running daemon holds. It sends the stored access token as it is; an expired one is reported, not renewed.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable

import aiohttp

from outboxd.config import Config, ShopConfig
from outboxd.doctor.files import secret_path
from outboxd.doctor.result import CheckResult
from outboxd.doctor.tokens import StoredToken
from outboxd.exceptions import AuthError, ConfigError, PennylaneError, PermanentError
from outboxd.pennylane import ApiTokenConnection, PennylaneClient, RateLimiter
from outboxd.secrets import Secret, read_secret

__all__ = ["CLOCK_FAIL_SECONDS", "CLOCK_WARN_SECONDS", "check_clock", "check_shop"]

CLOCK_WARN_SECONDS = 30.0
CLOCK_FAIL_SECONDS = 300.0
_TIMEOUT = 10.0
Clock = Callable[[], float]


async def check_shop(
    config: Config,
    shop: ShopConfig,
    session: aiohttp.ClientSession,
    stored: StoredToken | None,
    *,
    now: Clock = time.time,
) -> CheckResult:
    """The shop's token works (``GET /me``), grants the configured scopes, and is not about to die unseen."""
    check, title = f"shop.{shop.shop_id}", f"shop {shop.shop_id}"
    connect = f"outboxd ctl connect {shop.shop_id}"
    note = ""
    if shop.api_token_file:
        path = secret_path(shop.api_token_file)
        try:
            token = read_secret(path.absolute())
        except ConfigError:
            return CheckResult.skip(check, title, f"its API token file {path} cannot be read (see above)")
        renew = f"generate a new company API token in Pennylane, write it to {path} (0600), systemctl restart outboxd"
    elif stored is None or stored.state == "disconnected":
        return CheckResult.warn(check, title, "not connected to Pennylane: its events wait", connect)
    elif stored.state == "reconnect_needed":
        return CheckResult.fail(check, title, "reconnect needed: Pennylane refused its tokens", connect)
    elif stored.access_token is None:
        return CheckResult.fail(check, title, "its stored token cannot be decrypted (see stored tokens)", connect)
    else:
        token, renew = stored.access_token, connect
        if stored.expires_at is not None and stored.expires_at.timestamp() <= now():
            if stored.has_refresh_token:
                when = stored.expires_at.isoformat(timespec="seconds")
                return CheckResult.ok(check, title, f"access token expired {when}; the daemon refreshes it on use")
            return CheckResult.fail(check, title, "its access token expired and there is no refresh token", connect)
        if stored.expires_at is not None and not stored.has_refresh_token:
            note = f"; expires {stored.expires_at.isoformat(timespec='seconds')} with no refresh token"
    return await _ask(config, session, check, title, token, renew, note)


async def _ask(
    config: Config, session: aiohttp.ClientSession, check: str, title: str, token: Secret, renew: str, note: str
) -> CheckResult:
    client = PennylaneClient(
        session,
        config.pennylane.api_url,
        ApiTokenConnection(token),  # static: a 401 is reported, never answered with a refresh
        RateLimiter(config.pennylane.rate_limit.requests, config.pennylane.rate_limit.per_seconds),
        timeout=_TIMEOUT,
        max_rate_limited_resends=1,
    )
    try:
        me = await client.me()
    except AuthError:
        return CheckResult.fail(check, title, "Pennylane refused the token (401)", renew)
    except PermanentError as exc:
        return CheckResult.fail(check, title, f"GET /me refused: {exc}", renew)
    except PennylaneError as exc:
        fix = f"check the network, DNS and proxy towards {config.pennylane.api_url} (pennylane.api_url)"
        return CheckResult.fail(check, title, f"cannot reach Pennylane: {exc}", fix)
    company = f"company {me.company_name} ({me.company_id})"
    missing = [scope for scope in config.pennylane.scopes if scope not in me.scopes]
    if missing:
        return CheckResult.fail(
            check, title, f"{company}: missing scope(s) {' '.join(missing)}", f"{renew}, granting every scope"
        )
    if note:
        return CheckResult.warn(check, title, f"{company}, scopes ok{note}", f"{renew} before it expires")
    return CheckResult.ok(check, title, f"{company}, scopes ok")


async def check_clock(api_url: str, session: aiohttp.ClientSession, *, now: Clock = time.time) -> CheckResult:
    """The local clock against the Date header of Pennylane's answer (OAuth expiry and rate-limit resets use it)."""
    check, title = "clock", "clock"
    started = now()
    try:
        timeout = aiohttp.ClientTimeout(total=_TIMEOUT)
        async with session.get(api_url.rstrip("/") + "/me", timeout=timeout) as response:
            header = response.headers.get("Date")
    except (TimeoutError, aiohttp.ClientError) as exc:
        fix = f"check the network, DNS and proxy towards {api_url} (pennylane.api_url)"
        return CheckResult.fail(check, title, f"cannot reach Pennylane at {api_url}: {type(exc).__name__}", fix)
    local = (started + now()) / 2
    try:
        remote = email.utils.parsedate_to_datetime(header or "").timestamp()
    except (TypeError, ValueError):
        return CheckResult.warn(check, title, "Pennylane's answer has no usable Date header", "run doctor again")
    skew = local - remote
    summary = f"local clock {abs(skew):.0f} s {'ahead of' if skew >= 0 else 'behind'} Pennylane"
    fix = "turn on time synchronisation: timedatectl set-ntp true; check with timedatectl status"
    at = dt.datetime.fromtimestamp(remote, dt.UTC).isoformat(timespec="seconds")
    if abs(skew) > CLOCK_FAIL_SECONDS:
        return CheckResult.fail(check, title, f"{summary} (Pennylane says {at})", fix)
    if abs(skew) > CLOCK_WARN_SECONDS:
        return CheckResult.warn(check, title, f"{summary} (Pennylane says {at})", fix)
    return CheckResult.ok(check, title, summary)
