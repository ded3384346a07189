"""What the control server needs from the daemon: one async method per row of docs/control-api.md.

The daemon implements :class:`ControlBackend`; the server only routes HTTP onto it, so the protocol is
the single place where the calls are named. Every method returns a plain JSON-ready dict shaped as the
doc says (``ShopStatus``, ``Connection``, ``Backfill``...) and raises :class:`~outboxd.exceptions.NotFound`,
:class:`~outboxd.exceptions.BadRequest` or another :class:`~outboxd.exceptions.ControlError` (a conflict,
e.g. a backfill already running). Mutating methods take the operator's ``actor`` for the audit log.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, TypedDict

__all__ = [
    "BACKFILL_MODES",
    "ERROR_CLASSES",
    "BackfillMode",
    "ControlBackend",
    "FailedFilter",
    "JSONObject",
]

JSONObject = dict[str, Any]
BackfillMode = Literal["detailed", "daily"]
BACKFILL_MODES: tuple[BackfillMode, ...] = ("detailed", "daily")
ERROR_CLASSES = ("contract", "booking", "permanent", "auth", "retryable", "unknown_outcome", "internal")


class FailedFilter(TypedDict, total=False):
    """Which failed deliveries a listing or a bulk action covers; an absent key matches everything."""

    shop: str
    event_type: str
    error_class: str
    http_status: int
    older_than: float  # seconds since the delivery failed


class ControlBackend(Protocol):
    """The daemon as seen by the control API (a test double lives in tests/control/backend_double.py)."""

    async def status(self) -> JSONObject:
        """``{"daemon": {...}, "shops": [ShopStatus]}``."""

    async def shop(self, shop_id: str) -> JSONObject:
        """``ShopStatus`` of one shop."""

    async def pause(self, shop_id: str, actor: str, reason: str) -> JSONObject:
        """Stop delivering the shop's events; answers its ``ShopStatus``."""

    async def resume(self, shop_id: str, actor: str) -> JSONObject:
        """Deliver the shop's events again; answers its ``ShopStatus``."""

    async def mapping(self, shop_id: str) -> JSONObject:
        """The effective journals and accounts of the shop and whether each exists in Pennylane."""

    async def closings(self, shop_id: str, since: str | None, mismatch_only: bool) -> JSONObject:
        """The Z control of the shop's delivered closings from ``since`` (None: the last week), read now."""

    async def reconcile(self, shop_id: str, actor: str, since: str | None) -> JSONObject:
        """After a state restore, on a paused and connected shop: record as posted every entry Pennylane holds
        from ``since`` (None: the earliest open delivery's date); answers the counts (``Reconcile``)."""

    async def connect_start(self, shop_id: str, actor: str) -> JSONObject:
        """Begin OAuth: ``{"authorize_url", "state", "redirect_uri", "expires_at"}``."""

    async def connect_complete(self, shop_id: str, actor: str, redirect_url: str) -> JSONObject:
        """Finish OAuth from the URL the browser landed on; answers the ``Connection``."""

    async def connect_token(self, shop_id: str, actor: str, token_file: str) -> JSONObject:
        """Use a company API token read from a 0600 file on the server; answers the ``Connection``."""

    async def disconnect(self, shop_id: str, actor: str) -> JSONObject:
        """Revoke the shop's grant; answers the (revoked) ``Connection``."""

    async def backfill_estimate(self, shop_id: str, start_date: str | None) -> JSONObject:
        """Events, requests and seconds per mode from ``start_date`` (None: the fiscal year's start)."""

    async def backfill_start(self, shop_id: str, actor: str, start_date: str, mode: BackfillMode) -> JSONObject:
        """Start sending history from ``start_date``; answers the ``Backfill``."""

    async def backfill_get(self, shop_id: str) -> JSONObject | None:
        """The shop's latest ``Backfill``, or None if it never had one."""

    async def backfill_pause(self, shop_id: str, actor: str) -> JSONObject:
        """Pause the running backfill; answers the ``Backfill``."""

    async def backfill_resume(self, shop_id: str, actor: str) -> JSONObject:
        """Resume the paused backfill; answers the ``Backfill``."""

    async def backfill_cancel(self, shop_id: str, actor: str) -> JSONObject:
        """Cancel the backfill (what was sent stays booked); answers the ``Backfill``."""

    async def failed(self, filter: FailedFilter, limit: int, offset: int) -> JSONObject:
        """``{"total", "items": [FailedItem]}``, oldest failure first."""

    async def delivery(self, delivery_id: int) -> JSONObject:
        """``DeliveryDetail``: payload, entries, attempt timeline, the events blocked behind it."""

    async def retry(self, delivery_id: int, actor: str) -> JSONObject:
        """Put one failed delivery back in the queue: ``{"retried": 1}``."""

    async def discard(self, delivery_id: int, actor: str, reason: str) -> JSONObject:
        """Give up one failed delivery for a reason: ``{"discarded": 1}``."""

    async def bulk_retry(self, filter: FailedFilter, actor: str, dry_run: bool) -> JSONObject:
        """``{"matched": n, "retried": n, or 0 on a dry run}``."""

    async def bulk_discard(self, filter: FailedFilter, reason: str, actor: str, dry_run: bool) -> JSONObject:
        """``{"matched": n, "discarded": n, or 0 on a dry run}``."""

    async def audit(self, shop: str | None, limit: int) -> JSONObject:
        """``{"items": [{"at", "actor", "action", "shop_id", "target", "detail"}]}``, newest first."""
