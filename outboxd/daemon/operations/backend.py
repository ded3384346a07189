"""DaemonControl: the :class:`~outboxd.control.backend.ControlBackend` of one running daemon, wired from its parts.

The shops' status (with the failed reference snapshot that holds a shop, if any), pause and resume are answered
here; connections, failed deliveries and the mapping by their parts (``connect``, ``failed``, ``mapping``);
backfills by the Backfiller, which audits them.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import outboxd
from outboxd.control.backend import BackfillMode, FailedFilter
from outboxd.control.shapes import (
    AuditList,
    Backfill,
    BackfillEstimate,
    Booking,
    BulkDiscarded,
    BulkRetried,
    Closings,
    Connection,
    ConnectStart,
    DaemonInfo,
    DeliveryDetail,
    Discarded,
    FailedList,
    HeldByReference,
    Mapping,
    RateLimit,
    Reconcile,
    Retried,
    ShopStatus,
    Status,
    StatusTotals,
)
from outboxd.daemon.lifecycle import Parts
from outboxd.daemon.operations.booking import booking_view, switch_booking
from outboxd.daemon.operations.closings import closings_view
from outboxd.daemon.operations.connect import ShopConnections
from outboxd.daemon.operations.failed import FailedDeliveries, age
from outboxd.daemon.operations.mapping import mapping_view
from outboxd.daemon.operations.reconcile import reconcile
from outboxd.delivery.lane import Lane
from outboxd.exceptions import BadRequest, NotFound
from outboxd.store.booking import mode_on

__all__ = ["DaemonControl"]


class DaemonControl:
    """:class:`outboxd.control.backend.ControlBackend` over the parts of one running daemon."""

    def __init__(self, parts: Parts) -> None:
        config, store, lanes, connections = parts.config, parts.store, parts.lanes, parts.connections
        self.config, self.store, self.lanes = config, store, lanes
        self.backfills, self.process = parts.backfills, parts.process
        self.connections = ShopConnections(
            connections, store, config.pennylane.scopes, config.secrets.token_files_directory
        )
        self.deliveries = FailedDeliveries(store, lanes)

    # -- shops --------------------------------------------------------------------------------------------------

    async def status(self, search: str, limit: int, offset: int) -> Status:
        """One page of the shops whose id or name contains ``search``: only the page's rows are read, so the answer
        takes as long for 10,000 shops as for 10."""
        wanted = search.casefold()
        matched = sorted(shop_id for shop_id in self.lanes if wanted in shop_id.casefold()
                         or (wanted and wanted in self._name(shop_id).casefold()))  # fmt: skip
        queue = await self.store.queue.totals()
        totals: StatusTotals = {
            "shops": len(self.lanes), "matched": len(matched), "queue_depth": queue.depth, "failed": queue.failed,
            "paused": sum(1 for lane in self.lanes.values() if lane.paused),
        }  # fmt: skip
        page = [await self._status(self.lanes[shop_id]) for shop_id in matched[offset : offset + limit]]
        return {"daemon": self._daemon(), "shops": page, "totals": totals, "offset": offset, "limit": limit}

    def _daemon(self) -> DaemonInfo:
        p = self.process
        daemon: DaemonInfo = {
            "version": outboxd.__version__, "pid": os.getpid(), "started_at": p.started_at.timestamp(),
            "ready": p.ready.is_set(), "draining": p.draining,
            "config_file": None if self.config.source is None else str(self.config.source),
            "redirect_uri": self.config.redirect_uri,
        }  # fmt: skip
        return daemon

    async def shop(self, shop_id: str) -> ShopStatus:
        return await self._status(await self._lane(shop_id))

    async def pause(self, shop_id: str, actor: str, reason: str) -> ShopStatus:
        if not reason.strip():
            raise BadRequest("a reason is required to pause a shop (shown on the dashboard, kept in the audit log)")
        lane = await self._lane(shop_id)
        await self.store.shops.pause(shop_id, reason, actor)
        lane.paused, lane.pause_reason = True, reason
        return await self._status(lane)

    async def booking(self, shop_id: str) -> Booking:
        await self._lane(shop_id)
        return await booking_view(self.store, shop_id, dt.date.today())

    async def booking_switch(
        self, shop_id: str, actor: str, mode: BackfillMode, from_date: str, reason: str
    ) -> Booking:
        await self._lane(shop_id)
        return await switch_booking(self.store, self.lanes, shop_id, actor, mode, from_date, reason)

    async def resume(self, shop_id: str, actor: str) -> ShopStatus:
        lane = await self._lane(shop_id)
        await self.store.shops.resume(shop_id, actor)
        lane.paused, lane.pause_reason = False, ""
        self.lanes.wake(shop_id)
        return await self._status(lane)

    async def mapping(self, shop_id: str) -> Mapping:
        return await mapping_view(self.store, await self._lane(shop_id))

    async def closings(self, shop_id: str, since: str | None, mismatch_only: bool) -> Closings:
        start = None if since is None else dt.date.fromisoformat(since)
        return await closings_view(self.store, await self._lane(shop_id), start, mismatch_only)

    async def reconcile(self, shop_id: str, actor: str, since: str | None) -> Reconcile:
        start = None if since is None else dt.date.fromisoformat(since)
        return await reconcile(self.store, await self._lane(shop_id), actor, start)

    async def audit(self, shop: str | None, limit: int) -> AuditList:
        if limit < 0:
            raise BadRequest("limit must not be negative")
        rows = await self.store.audit.list(shop_id=shop, limit=limit)
        return {"items": [{"at": r.at.timestamp(), "actor": r.actor, "action": r.action, "shop_id": r.shop_id,
                           "target": r.target, "detail": json.loads(r.detail or "{}")} for r in rows]}  # fmt: skip

    # -- connections: ShopConnections ---------------------------------------------------------------------------

    async def connect_start(self, shop_id: str, actor: str) -> ConnectStart:
        return await self.connections.start(await self._lane(shop_id), actor)

    async def connect_complete(self, shop_id: str, actor: str, redirect_url: str) -> Connection:
        return await self.connections.complete(await self._lane(shop_id), actor, redirect_url)

    async def connect_token(self, shop_id: str, actor: str, token_file: str) -> Connection:
        return await self.connections.token(await self._lane(shop_id), actor, token_file)

    async def disconnect(self, shop_id: str, actor: str) -> Connection:
        return await self.connections.disconnect(await self._lane(shop_id), actor)

    # -- failed deliveries: FailedDeliveries --------------------------------------------------------------------

    async def failed(self, filter: FailedFilter, limit: int, offset: int) -> FailedList:
        return await self.deliveries.failed(filter, limit, offset)

    async def delivery(self, delivery_id: int) -> DeliveryDetail:
        return await self.deliveries.delivery(delivery_id)

    async def retry(self, delivery_id: int, actor: str) -> Retried:
        return await self.deliveries.retry(delivery_id, actor)

    async def discard(self, delivery_id: int, actor: str, reason: str) -> Discarded:
        return await self.deliveries.discard(delivery_id, actor, reason)

    async def bulk_retry(self, filter: FailedFilter, actor: str, dry_run: bool) -> BulkRetried:
        return await self.deliveries.bulk_retry(filter, actor, dry_run)

    async def bulk_discard(self, filter: FailedFilter, reason: str, actor: str, dry_run: bool) -> BulkDiscarded:
        return await self.deliveries.bulk_discard(filter, reason, actor, dry_run)

    # -- backfills: the Backfiller's, audited there ----------------------------------------------------------------

    async def backfill_estimate(self, shop_id: str, start_date: str | None) -> BackfillEstimate:
        await self._lane(shop_id)
        return await self.backfills.estimate(shop_id, start_date)

    async def backfill_start(self, shop_id: str, actor: str, start_date: str, mode: BackfillMode) -> Backfill:
        await self._lane(shop_id)
        return await self.backfills.start(shop_id, actor, start_date, mode)

    async def backfill_get(self, shop_id: str) -> Backfill | None:
        await self._lane(shop_id)
        return await self.backfills.get(shop_id)

    async def backfill_pause(self, shop_id: str, actor: str) -> Backfill:
        await self._lane(shop_id)
        return await self.backfills.pause(shop_id, actor)

    async def backfill_resume(self, shop_id: str, actor: str) -> Backfill:
        await self._lane(shop_id)
        return await self.backfills.resume(shop_id, actor)

    async def backfill_cancel(self, shop_id: str, actor: str) -> Backfill:
        await self._lane(shop_id)
        return await self.backfills.cancel(shop_id, actor)

    # -- helpers --------------------------------------------------------------------------------------------------

    async def _lane(self, shop_id: str) -> Lane:
        """A known shop's lane: one the daemon runs, or one configured that has not been seen yet."""
        if shop_id in self.lanes or shop_id in self.config.shops:
            return await self.lanes.lane(shop_id)
        raise NotFound(f"no shop {shop_id!r}: neither configured nor seen in the outbox")

    async def _status(self, lane: Lane) -> ShopStatus:
        shop_id, config = lane.shop_id, self.config
        (stats,) = await self.store.queue.stats(shop_id)
        oldest = stats.oldest_pending_at
        limit = config.pennylane.rate_limit
        rate: RateLimit = {"limit": limit.requests, "window": limit.per_seconds, "used": 0, "waits": 0}
        if lane.client is not None:
            usage = lane.client.limiter.usage()
            rate = {"limit": usage.limit, "window": usage.window, "used": usage.in_window, "waits": usage.rate_limited}
        held = await self._held_by_reference(shop_id)
        return {
            "shop_id": shop_id, "name": self._name(shop_id), "paused": lane.paused,
            "pause_reason": lane.pause_reason or None, "connection": await self.connections.connection(lane),
            "queue_depth": stats.depth, "oldest_pending_age": None if oldest is None else age(oldest.timestamp()),
            "delivered_today": stats.delivered_today, "failed": stats.failed, "rate_limit": rate,
            "throughput": lane.throughput(), "held_by_reference": held,
            "backfill": await self.backfills.get(shop_id),
            "booking": mode_on(await self.store.booking.switches(shop_id), dt.date.today()),
        }  # fmt: skip

    def _name(self, shop_id: str) -> str:
        shop = self.config.shops.get(shop_id)
        return shop.label if shop else shop_id

    async def _held_by_reference(self, shop_id: str) -> HeldByReference | None:
        """The failed reference snapshot every later event of the shop waits behind, and how many wait."""
        queue = self.store.queue
        reference = await queue.holding_reference(shop_id)
        if reference is None:
            return None
        waiting = (await queue.blocked_by(reference, limit=0)).total
        return {"id": reference.id, "waiting": waiting, "message": reference.last_error}
