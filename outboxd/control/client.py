"""The control API client used by ``outboxd ctl`` and the TUI: one async method per call of docs/control-api.md.

Errors come back as the domain's :class:`~outboxd.exceptions.ControlError` family; a missing or refusing
socket becomes :class:`~outboxd.exceptions.DaemonNotRunning` with the command that starts the daemon.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp

from outboxd.control.backend import BackfillMode, FailedFilter, JSONObject
from outboxd.exceptions import BadRequest, ControlError, DaemonNotRunning, NotFound

__all__ = ["DEFAULT_SOCKET", "ControlClient", "current_actor"]

DEFAULT_SOCKET = Path("/run/outboxd/control.sock")
SOCKET_ENV = "OUTBOXD_CONTROL_SOCKET"
_BASE = "http://outboxd"
_ERRORS: dict[int, type[ControlError]] = {400: BadRequest, 404: NotFound}
RECONCILE_TIMEOUT = aiohttp.ClientTimeout(total=3600.0)
"""A reconcile reads every entry since a date, 100 per request at about 5 requests/s: a year of a busy shop
takes minutes."""


def _q(shop_id: str) -> str:
    return quote(shop_id, safe="")


def current_actor() -> str:
    """The operator's login: the user behind sudo first, then the session's user."""
    return os.environ.get("SUDO_USER") or os.environ.get("USER") or getpass.getuser()


class ControlClient:
    """An async client of the daemon's control socket; use it as ``async with ControlClient(path) as c``."""

    def __init__(self, socket_path: str | Path | None = None, *, actor: str | None = None, timeout: float = 30.0):
        self.socket_path = Path(socket_path or os.environ.get(SOCKET_ENV) or DEFAULT_SOCKET)
        self.actor = actor or current_actor()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ControlClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _not_running(self) -> DaemonNotRunning:
        return DaemonNotRunning(
            f"the daemon is not running (no socket at {self.socket_path}): "
            "start it with `systemctl start outboxd` or `outboxd run`"
        )

    async def _call(
        self, method: str, path: str, *, query: dict[str, Any] | None = None, body: dict[str, Any] | None = None,
        within: aiohttp.ClientTimeout | None = None,
    ) -> Any:  # fmt: skip
        timeout = within or self._timeout
        if self._session is None:
            connector = aiohttp.UnixConnector(path=str(self.socket_path))
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        params = {k: str(v) for k, v in (query or {}).items() if v is not None and v != ""}
        json_body = None if body is None else {"actor": self.actor, **body}
        try:
            async with self._session.request(
                method, _BASE + path, params=params, json=json_body, timeout=timeout
            ) as response:
                try:
                    data = await response.json(content_type=None)
                except ValueError as exc:
                    raise ControlError(f"the daemon answered {response.status} without JSON") from exc
                if response.status >= 400:
                    message = data.get("message") if isinstance(data, dict) else None
                    error = _ERRORS.get(response.status, ControlError)
                    raise error(message or f"the daemon answered HTTP {response.status}")
                return data
        except (aiohttp.ClientConnectorError, FileNotFoundError, ConnectionRefusedError) as exc:
            await self.close()  # the next call connects afresh, to a daemon started meanwhile
            raise self._not_running() from exc
        except aiohttp.ClientError as exc:
            raise ControlError(f"the daemon's control socket failed: {exc}") from exc
        except TimeoutError as exc:
            raise ControlError(f"the daemon did not answer within {timeout.total:g} s") from exc

    # --- status and shops ---
    async def status(self) -> JSONObject:
        result: JSONObject = await self._call("GET", "/v1/status")
        return result

    async def shop(self, shop_id: str) -> JSONObject:
        result: JSONObject = await self._call("GET", f"/v1/shops/{_q(shop_id)}")
        return result

    async def pause(self, shop_id: str, reason: str = "") -> JSONObject:
        result: JSONObject = await self._call("POST", f"/v1/shops/{_q(shop_id)}/pause", body={"reason": reason})
        return result

    async def resume(self, shop_id: str) -> JSONObject:
        result: JSONObject = await self._call("POST", f"/v1/shops/{_q(shop_id)}/resume", body={})
        return result

    async def mapping(self, shop_id: str) -> JSONObject:
        result: JSONObject = await self._call("GET", f"/v1/shops/{_q(shop_id)}/mapping")
        return result

    async def closings(self, shop_id: str, since: str | None = None, *, mismatch_only: bool = False) -> JSONObject:
        query = {"since": since, "mismatch": "1" if mismatch_only else None}
        result: JSONObject = await self._call("GET", f"/v1/shops/{_q(shop_id)}/closings", query=query)
        return result

    async def reconcile(self, shop_id: str, since: str | None = None) -> JSONObject:
        """Lists the Pennylane company's entries at its rate limit: allowed :data:`RECONCILE_TIMEOUT`."""
        path, body = f"/v1/shops/{_q(shop_id)}/reconcile", {"since": since}
        result: JSONObject = await self._call("POST", path, body=body, within=RECONCILE_TIMEOUT)
        return result

    # --- connection ---
    async def connect_start(self, shop_id: str) -> JSONObject:
        result: JSONObject = await self._call("POST", f"/v1/shops/{_q(shop_id)}/connect/start", body={})
        return result

    async def connect_complete(self, shop_id: str, redirect_url: str) -> JSONObject:
        body = {"redirect_url": redirect_url}
        result: JSONObject = await self._call("POST", f"/v1/shops/{_q(shop_id)}/connect/complete", body=body)
        return result

    async def connect_token(self, shop_id: str, token_file: str) -> JSONObject:
        body = {"token_file": token_file}
        result: JSONObject = await self._call("POST", f"/v1/shops/{_q(shop_id)}/connect/token", body=body)
        return result

    async def disconnect(self, shop_id: str) -> JSONObject:
        result: JSONObject = await self._call("POST", f"/v1/shops/{_q(shop_id)}/disconnect", body={})
        return result

    # --- backfill ---
    async def backfill_estimate(self, shop_id: str, start_date: str | None = None) -> JSONObject:
        query = {"start": start_date}
        result: JSONObject = await self._call("GET", f"/v1/shops/{_q(shop_id)}/backfill/estimate", query=query)
        return result

    async def backfill_start(self, shop_id: str, start_date: str, mode: BackfillMode) -> JSONObject:
        body = {"start_date": start_date, "mode": mode}
        result: JSONObject = await self._call("POST", f"/v1/shops/{_q(shop_id)}/backfill", body=body)
        return result

    async def backfill_get(self, shop_id: str) -> JSONObject | None:
        result: JSONObject | None = await self._call("GET", f"/v1/shops/{_q(shop_id)}/backfill")
        return result

    async def backfill_pause(self, shop_id: str) -> JSONObject:
        result: JSONObject = await self._call("POST", f"/v1/shops/{_q(shop_id)}/backfill/pause", body={})
        return result

    async def backfill_resume(self, shop_id: str) -> JSONObject:
        result: JSONObject = await self._call("POST", f"/v1/shops/{_q(shop_id)}/backfill/resume", body={})
        return result

    async def backfill_cancel(self, shop_id: str) -> JSONObject:
        result: JSONObject = await self._call("POST", f"/v1/shops/{_q(shop_id)}/backfill/cancel", body={})
        return result

    # --- failed deliveries ---
    async def failed(self, filter: FailedFilter | None = None, limit: int = 50, offset: int = 0) -> JSONObject:
        query: dict[str, Any] = {**(filter or {}), "limit": limit, "offset": offset}
        result: JSONObject = await self._call("GET", "/v1/failed", query=query)
        return result

    async def delivery(self, delivery_id: int) -> JSONObject:
        result: JSONObject = await self._call("GET", f"/v1/deliveries/{delivery_id}")
        return result

    async def retry(self, delivery_id: int) -> JSONObject:
        result: JSONObject = await self._call("POST", f"/v1/deliveries/{delivery_id}/retry", body={})
        return result

    async def discard(self, delivery_id: int, reason: str) -> JSONObject:
        body = {"reason": reason}
        result: JSONObject = await self._call("POST", f"/v1/deliveries/{delivery_id}/discard", body=body)
        return result

    async def bulk_retry(self, filter: FailedFilter, *, dry_run: bool) -> JSONObject:
        body = {"filter": dict(filter), "dry_run": dry_run}
        result: JSONObject = await self._call("POST", "/v1/failed/retry", body=body)
        return result

    async def bulk_discard(self, filter: FailedFilter, reason: str, *, dry_run: bool) -> JSONObject:
        body = {"filter": dict(filter), "reason": reason, "dry_run": dry_run}
        result: JSONObject = await self._call("POST", "/v1/failed/discard", body=body)
        return result

    async def audit(self, shop: str | None = None, limit: int = 50) -> JSONObject:
        result: JSONObject = await self._call("GET", "/v1/audit", query={"shop": shop, "limit": limit})
        return result
