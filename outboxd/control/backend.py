"""What the control server needs from the daemon: one async method per row of docs/control-api.md.

The daemon implements :class:`ControlBackend`; the server only routes HTTP onto it, so the protocol is
the single place where the calls are named. Every method answers one of the typed shapes of
:mod:`outboxd.control.shapes` (``ShopStatus``, ``Connection``, ``Backfill``...), which the client hands to ``ctl``
and the TUI as they are, and raises :class:`~outboxd.exceptions.NotFound`, :class:`~outboxd.exceptions.BadRequest`
or another :class:`~outboxd.exceptions.ControlError` (a conflict, e.g. a backfill already running). Mutating
methods take the operator's ``actor`` for the audit log.
"""

from __future__ import annotations

from typing import Protocol

from outboxd.control.shapes import (
    AuditList,
    Backfill,
    BackfillEstimate,
    BackfillMode,
    Booking,
    BulkDiscarded,
    BulkRetried,
    Closings,
    Connection,
    ConnectStart,
    DeliveryDetail,
    Discarded,
    FailedFilter,
    FailedList,
    Mapping,
    Reconcile,
    Retried,
    ShopStatus,
    Status,
)

__all__ = ["BACKFILL_MODES", "ERROR_CLASSES", "BackfillMode", "ControlBackend", "FailedFilter"]

BACKFILL_MODES: tuple[BackfillMode, ...] = ("detailed", "daily")
ERROR_CLASSES = ("contract", "booking", "permanent", "auth", "retryable", "unknown_outcome", "internal")


class ControlBackend(Protocol):
    """The daemon as seen by the control API (a test double lives in tests/control/backend_double.py)."""

    async def status(self, search: str, limit: int, offset: int) -> Status:
        """``{"daemon": {...}, "shops": [ShopStatus], "totals": {...}}``: one page of the shops whose id or name
        contains ``search`` (any case), by shop id."""

    async def shop(self, shop_id: str) -> ShopStatus:
        """``ShopStatus`` of one shop."""

    async def pause(self, shop_id: str, actor: str, reason: str) -> ShopStatus:
        """Stop delivering the shop's events; answers its ``ShopStatus``."""

    async def resume(self, shop_id: str, actor: str) -> ShopStatus:
        """Deliver the shop's events again; answers its ``ShopStatus``."""

    async def booking(self, shop_id: str) -> Booking:
        """The shop's booking mode (detailed or daily), its switches and what waits for a register's closing."""

    async def booking_switch(
        self, shop_id: str, actor: str, mode: BackfillMode, from_date: str, reason: str
    ) -> Booking:
        """Book the shop in ``mode`` from the business date ``from_date`` on (audited with ``reason``); a
        register-day already on its way in one mode stays in it."""

    async def mapping(self, shop_id: str) -> Mapping:
        """The effective journals and accounts of the shop and whether each exists in Pennylane."""

    async def closings(self, shop_id: str, since: str | None, mismatch_only: bool) -> Closings:
        """The Z control of the shop's delivered closings from ``since`` (None: the last week), read now."""

    async def reconcile(self, shop_id: str, actor: str, since: str | None) -> Reconcile:
        """After a state restore, on a paused and connected shop: record as posted every entry Pennylane holds
        from ``since`` (None: the earliest open delivery's date); answers the counts (``Reconcile``)."""

    async def connect_start(self, shop_id: str, actor: str) -> ConnectStart:
        """Begin OAuth: ``{"authorize_url", "state", "redirect_uri", "expires_at"}``."""

    async def connect_complete(self, shop_id: str, actor: str, redirect_url: str) -> Connection:
        """Finish OAuth from the URL the browser landed on; answers the ``Connection``."""

    async def connect_token(self, shop_id: str, actor: str, token_file: str) -> Connection:
        """Use a company API token read from a 0600 file on the server; answers the ``Connection``."""

    async def disconnect(self, shop_id: str, actor: str) -> Connection:
        """Revoke the shop's grant; answers the (revoked) ``Connection``."""

    async def backfill_estimate(self, shop_id: str, start_date: str | None) -> BackfillEstimate:
        """Events, requests and seconds per mode from ``start_date`` (None: the fiscal year's start)."""

    async def backfill_start(self, shop_id: str, actor: str, start_date: str, mode: BackfillMode) -> Backfill:
        """Start sending history from ``start_date``; answers the ``Backfill``."""

    async def backfill_get(self, shop_id: str) -> Backfill | None:
        """The shop's latest ``Backfill``, or None if it never had one."""

    async def backfill_pause(self, shop_id: str, actor: str) -> Backfill:
        """Pause the running backfill; answers the ``Backfill``."""

    async def backfill_resume(self, shop_id: str, actor: str) -> Backfill:
        """Resume the paused backfill; answers the ``Backfill``."""

    async def backfill_cancel(self, shop_id: str, actor: str) -> Backfill:
        """Cancel the backfill (what was sent stays booked); answers the ``Backfill``."""

    async def failed(self, filter: FailedFilter, limit: int, offset: int) -> FailedList:
        """``{"total", "items": [FailedItem]}``, oldest failure first."""

    async def delivery(self, delivery_id: int) -> DeliveryDetail:
        """``DeliveryDetail``: payload, entries, attempt timeline, the events blocked behind it."""

    async def retry(self, delivery_id: int, actor: str) -> Retried:
        """Put one failed delivery back in the queue: ``{"retried": 1}``."""

    async def discard(self, delivery_id: int, actor: str, reason: str) -> Discarded:
        """Give up one failed delivery for a reason: ``{"discarded": 1}``."""

    async def bulk_retry(self, filter: FailedFilter, actor: str, dry_run: bool) -> BulkRetried:
        """``{"matched": n, "retried": n, or 0 on a dry run}``."""

    async def bulk_discard(self, filter: FailedFilter, reason: str, actor: str, dry_run: bool) -> BulkDiscarded:
        """``{"matched": n, "discarded": n, or 0 on a dry run}``."""

    async def audit(self, shop: str | None, limit: int) -> AuditList:
        """``{"items": [{"at", "actor", "action", "shop_id", "target", "detail"}]}``, newest first."""
