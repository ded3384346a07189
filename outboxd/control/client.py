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

from outboxd.control.shapes import (
    AuditList,
    Backfill,
    BackfillEstimate,
    BackfillMode,
    BackfillStartRequest,
    Booking,
    BookingRequest,
    BulkDiscarded,
    BulkDiscardRequest,
    BulkRequest,
    BulkRetried,
    Closings,
    ConnectCompleteRequest,
    Connection,
    ConnectStart,
    ConnectTokenRequest,
    DeliveryDetail,
    Discarded,
    DiscardRequest,
    FailedFilter,
    FailedList,
    Mapping,
    PauseRequest,
    Reconcile,
    ReconcileRequest,
    Request,
    Retried,
    ShopStatus,
    Status,
)
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
        self, method: str, path: str, *, query: dict[str, Any] | None = None, body: Request | None = None,
        within: aiohttp.ClientTimeout | None = None,
    ) -> Any:  # fmt: skip
        """One call; its JSON answer, shaped by the daemon's side as the calling method's return type says."""
        timeout = within or self._timeout
        if self._session is None:
            connector = aiohttp.UnixConnector(path=str(self.socket_path))
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        params = {k: str(v) for k, v in (query or {}).items() if v is not None and v != ""}
        try:
            async with self._session.request(
                method, _BASE + path, params=params, json=body, timeout=timeout
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
            if isinstance(getattr(exc, "os_error", exc), PermissionError):  # a running daemon that refuses this user
                raise ControlError(
                    f"permission denied on the daemon's control socket {self.socket_path}: run as a user of its group "
                    "(docs/operations.md) or with sudo"
                ) from exc
            raise self._not_running() from exc
        except aiohttp.ClientError as exc:
            raise ControlError(f"the daemon's control socket failed: {exc}") from exc
        except TimeoutError as exc:
            raise ControlError(f"the daemon did not answer within {timeout.total:g} s") from exc

    def _request(self) -> Request:
        return {"actor": self.actor}

    # --- status and shops ---
    async def status(self, search: str = "", limit: int = 50, offset: int = 0) -> Status:
        """One page of the shops (``limit`` 1 to 1,000) whose id or name contains ``search``, with the totals."""
        answer: Status = await self._call(
            "GET", "/v1/status", query={"search": search, "limit": limit, "offset": offset}
        )
        return answer

    async def shop(self, shop_id: str) -> ShopStatus:
        answer: ShopStatus = await self._call("GET", f"/v1/shops/{_q(shop_id)}")
        return answer

    async def pause(self, shop_id: str, reason: str = "") -> ShopStatus:
        body: PauseRequest = {"actor": self.actor, "reason": reason}
        answer: ShopStatus = await self._call("POST", f"/v1/shops/{_q(shop_id)}/pause", body=body)
        return answer

    async def resume(self, shop_id: str) -> ShopStatus:
        answer: ShopStatus = await self._call("POST", f"/v1/shops/{_q(shop_id)}/resume", body=self._request())
        return answer

    async def booking(self, shop_id: str) -> Booking:
        answer: Booking = await self._call("GET", f"/v1/shops/{_q(shop_id)}/booking")
        return answer

    async def booking_switch(self, shop_id: str, mode: BackfillMode, from_date: str, reason: str) -> Booking:
        body: BookingRequest = {"actor": self.actor, "mode": mode, "from_date": from_date, "reason": reason}
        answer: Booking = await self._call("POST", f"/v1/shops/{_q(shop_id)}/booking", body=body)
        return answer

    async def mapping(self, shop_id: str) -> Mapping:
        answer: Mapping = await self._call("GET", f"/v1/shops/{_q(shop_id)}/mapping")
        return answer

    async def closings(self, shop_id: str, since: str | None = None, *, mismatch_only: bool = False) -> Closings:
        query = {"since": since, "mismatch": "1" if mismatch_only else None}
        answer: Closings = await self._call("GET", f"/v1/shops/{_q(shop_id)}/closings", query=query)
        return answer

    async def reconcile(self, shop_id: str, since: str | None = None) -> Reconcile:
        """Lists the Pennylane company's entries at its rate limit: allowed :data:`RECONCILE_TIMEOUT`."""
        body: ReconcileRequest = {"actor": self.actor, "since": since}
        path = f"/v1/shops/{_q(shop_id)}/reconcile"
        answer: Reconcile = await self._call("POST", path, body=body, within=RECONCILE_TIMEOUT)
        return answer

    # --- connection ---
    async def connect_start(self, shop_id: str) -> ConnectStart:
        answer: ConnectStart = await self._call("POST", f"/v1/shops/{_q(shop_id)}/connect/start", body=self._request())
        return answer

    async def connect_complete(self, shop_id: str, redirect_url: str) -> Connection:
        body: ConnectCompleteRequest = {"actor": self.actor, "redirect_url": redirect_url}
        answer: Connection = await self._call("POST", f"/v1/shops/{_q(shop_id)}/connect/complete", body=body)
        return answer

    async def connect_token(self, shop_id: str, token_file: str) -> Connection:
        body: ConnectTokenRequest = {"actor": self.actor, "token_file": token_file}
        answer: Connection = await self._call("POST", f"/v1/shops/{_q(shop_id)}/connect/token", body=body)
        return answer

    async def disconnect(self, shop_id: str) -> Connection:
        answer: Connection = await self._call("POST", f"/v1/shops/{_q(shop_id)}/disconnect", body=self._request())
        return answer

    # --- backfill ---
    async def backfill_estimate(self, shop_id: str, start_date: str | None = None) -> BackfillEstimate:
        query = {"start": start_date}
        answer: BackfillEstimate = await self._call("GET", f"/v1/shops/{_q(shop_id)}/backfill/estimate", query=query)
        return answer

    async def backfill_start(self, shop_id: str, start_date: str, mode: BackfillMode) -> Backfill:
        body: BackfillStartRequest = {"actor": self.actor, "start_date": start_date, "mode": mode}
        answer: Backfill = await self._call("POST", f"/v1/shops/{_q(shop_id)}/backfill", body=body)
        return answer

    async def backfill_get(self, shop_id: str) -> Backfill | None:
        answer: Backfill | None = await self._call("GET", f"/v1/shops/{_q(shop_id)}/backfill")
        return answer

    async def backfill_pause(self, shop_id: str) -> Backfill:
        answer: Backfill = await self._call("POST", f"/v1/shops/{_q(shop_id)}/backfill/pause", body=self._request())
        return answer

    async def backfill_resume(self, shop_id: str) -> Backfill:
        answer: Backfill = await self._call("POST", f"/v1/shops/{_q(shop_id)}/backfill/resume", body=self._request())
        return answer

    async def backfill_cancel(self, shop_id: str) -> Backfill:
        answer: Backfill = await self._call("POST", f"/v1/shops/{_q(shop_id)}/backfill/cancel", body=self._request())
        return answer

    # --- failed deliveries ---
    async def failed(self, filter: FailedFilter | None = None, limit: int = 50, offset: int = 0) -> FailedList:
        query: dict[str, Any] = {**(filter or {}), "limit": limit, "offset": offset}
        answer: FailedList = await self._call("GET", "/v1/failed", query=query)
        return answer

    async def delivery(self, delivery_id: int) -> DeliveryDetail:
        answer: DeliveryDetail = await self._call("GET", f"/v1/deliveries/{delivery_id}")
        return answer

    async def retry(self, delivery_id: int) -> Retried:
        answer: Retried = await self._call("POST", f"/v1/deliveries/{delivery_id}/retry", body=self._request())
        return answer

    async def discard(self, delivery_id: int, reason: str) -> Discarded:
        body: DiscardRequest = {"actor": self.actor, "reason": reason}
        answer: Discarded = await self._call("POST", f"/v1/deliveries/{delivery_id}/discard", body=body)
        return answer

    async def bulk_retry(self, filter: FailedFilter, *, dry_run: bool) -> BulkRetried:
        body: BulkRequest = {"actor": self.actor, "filter": filter, "dry_run": dry_run}
        answer: BulkRetried = await self._call("POST", "/v1/failed/retry", body=body)
        return answer

    async def bulk_discard(self, filter: FailedFilter, reason: str, *, dry_run: bool) -> BulkDiscarded:
        body: BulkDiscardRequest = {"actor": self.actor, "filter": filter, "reason": reason, "dry_run": dry_run}
        answer: BulkDiscarded = await self._call("POST", "/v1/failed/discard", body=body)
        return answer

    async def audit(self, shop: str | None = None, limit: int = 50) -> AuditList:
        answer: AuditList = await self._call("GET", "/v1/audit", query={"shop": shop, "limit": limit})
        return answer
