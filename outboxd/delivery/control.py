"""The daemon behind the control API: each call of docs/control-api.md answered from the store and the lanes.

The store is the truth for queues, failures, attempts and the audit log; the lanes for what only the running
process knows (connection health, rate-limit usage, throughput, pause). Mutating calls are audited once: by the
store method that changes state when it audits (pause, retry, discard, bulk), else here with ``audit.append``.
Backfills are the Backfiller's (``daemon.backfills``); this module only routes to it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from typing import TYPE_CHECKING, Any

import outboxd
from outboxd.contract import parse_event
from outboxd.contract.models import LineKind
from outboxd.control.backend import BackfillMode, FailedFilter, JSONObject
from outboxd.delivery.lane import Lane
from outboxd.exceptions import BadRequest, BookingError, ContractError, ControlError, NotFound, PennylaneError
from outboxd.money import format_cents, format_rate
from outboxd.pennylane import ConnectionState, Me, PennylaneClient
from outboxd.rules import CustomerAccount, LedgerAccount, book
from outboxd.rules.accounts import (
    cash_difference_account,
    closing_accounts,
    counter_customer_account,
    method_account,
    sales_account,
    vat_account,
)
from outboxd.store import OPEN_STATES, Delivery, SentEntry
from outboxd.store import FailedFilter as StoreFilter

if TYPE_CHECKING:
    from outboxd.delivery.daemon import Daemon
    from outboxd.rules import EntryLine, ShopMapping

__all__ = ["DaemonControl", "mapping_accounts"]

_KINDS: tuple[LineKind, ...] = ("goods", "service", "other")


class DaemonControl:
    """:class:`outboxd.control.backend.ControlBackend` over one running :class:`Daemon`."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self._me: dict[str, tuple[PennylaneClient, Me]] = {}  # shops connected by a configured token: GET /me once
        self._pending: dict[str, float] = {}  # shop -> expiry of the authorize URL handed out

    # -- shops --------------------------------------------------------------------------------------------------

    async def status(self) -> JSONObject:
        d = self.daemon
        daemon = {"version": outboxd.__version__, "pid": os.getpid(), "started_at": d.started_at.timestamp(),
                  "ready": d.ready.is_set(), "draining": d.draining}  # fmt: skip
        return {"daemon": daemon, "shops": [await self._status(lane) for _, lane in sorted(d.lanes.items())]}

    async def shop(self, shop_id: str) -> JSONObject:
        return await self._status(await self._lane(shop_id))

    async def pause(self, shop_id: str, actor: str, reason: str) -> JSONObject:
        lane = await self._lane(shop_id)
        await self.daemon.store.shops.pause(shop_id, reason, actor)
        lane.paused, lane.pause_reason = True, reason
        return await self._status(lane)

    async def resume(self, shop_id: str, actor: str) -> JSONObject:
        lane = await self._lane(shop_id)
        await self.daemon.store.shops.resume(shop_id, actor)
        lane.paused, lane.pause_reason = False, ""
        self.daemon.wake(shop_id)
        return await self._status(lane)

    async def mapping(self, shop_id: str) -> JSONObject:
        lane = await self._lane(shop_id)
        mapping, caches = lane.mapping(), self.daemon.store.caches
        journals = []
        for register_id in sorted({*mapping.registers, *mapping.journals}):
            cached = await caches.journal(shop_id, register_id)
            code = cached.code if cached else lane.journal_spec(register_id).code
            journals.append({"register_id": register_id, "register_name": mapping.registers.get(register_id),
                             "code": code, "exists": cached is not None})  # fmt: skip
        accounts = [
            {**account, "exists": await caches.ledger_account(shop_id, account["number"]) is not None}
            for account in mapping_accounts(mapping)
        ]
        return {"journals": journals, "accounts": accounts}

    # -- connections --------------------------------------------------------------------------------------------

    async def connect_start(self, shop_id: str, actor: str) -> JSONObject:
        await self._lane(shop_id)
        started = await self.daemon.connections.start(shop_id)
        self._pending[shop_id] = started["expires_at"]
        await self.daemon.store.audit.append(actor, "connect.start", shop_id=shop_id)
        return started

    async def connect_complete(self, shop_id: str, actor: str, redirect_url: str) -> JSONObject:
        lane = await self._lane(shop_id)
        try:
            _, stored = await self.daemon.connections.complete(redirect_url, shop_id)
        except ControlError as exc:
            raise BadRequest(str(exc)) from exc
        self._pending.pop(shop_id, None)
        detail = {"kind": "oauth", "company": stored.company_name}
        await self.daemon.store.audit.append(actor, "connect.complete", shop_id=shop_id, detail=detail)
        return await self._connection(lane)

    async def connect_token(self, shop_id: str, actor: str, token_file: str) -> JSONObject:
        lane = await self._lane(shop_id)
        stored = await self.daemon.connections.use_token(shop_id, token_file)
        detail = {"kind": "api_token", "token_file": token_file, "company": stored.company_name}
        await self.daemon.store.audit.append(actor, "connect.token", shop_id=shop_id, detail=detail)
        return await self._connection(lane)

    async def disconnect(self, shop_id: str, actor: str) -> JSONObject:
        lane = await self._lane(shop_id)
        await self.daemon.connections.disconnect(shop_id)
        self._pending.pop(shop_id, None)  # an OAuth start completed by the callback listener left it here
        await self.daemon.store.audit.append(actor, "connect.disconnect", shop_id=shop_id)
        return await self._connection(lane)

    # -- backfills: the Backfiller's, audited there ----------------------------------------------------------------

    def _backfills(self) -> Any:
        backfills = getattr(self.daemon, "backfills", None)
        if backfills is None:
            raise ControlError("backfill is not available yet")
        return backfills

    async def backfill_estimate(self, shop_id: str, start_date: str | None) -> JSONObject:
        await self._lane(shop_id)
        result: JSONObject = await self._backfills().estimate(shop_id, start_date)
        return result

    async def backfill_start(self, shop_id: str, actor: str, start_date: str, mode: BackfillMode) -> JSONObject:
        await self._lane(shop_id)
        result: JSONObject = await self._backfills().start(shop_id, actor, start_date, mode)
        return result

    async def backfill_get(self, shop_id: str) -> JSONObject | None:
        await self._lane(shop_id)
        result: JSONObject | None = await self._backfills().get(shop_id)
        return result

    async def backfill_pause(self, shop_id: str, actor: str) -> JSONObject:
        await self._lane(shop_id)
        result: JSONObject = await self._backfills().pause(shop_id, actor)
        return result

    async def backfill_resume(self, shop_id: str, actor: str) -> JSONObject:
        await self._lane(shop_id)
        result: JSONObject = await self._backfills().resume(shop_id, actor)
        return result

    async def backfill_cancel(self, shop_id: str, actor: str) -> JSONObject:
        await self._lane(shop_id)
        result: JSONObject = await self._backfills().cancel(shop_id, actor)
        return result

    # -- failed deliveries ----------------------------------------------------------------------------------------

    async def failed(self, filter: FailedFilter, limit: int, offset: int) -> JSONObject:
        if limit < 0 or offset < 0:
            raise BadRequest("limit and offset must not be negative")
        where, queue = _store_filter(filter), self.daemon.store.queue
        items = (await queue.failed(where, limit=offset + limit))[offset:]
        return {"total": await queue.count_failed(where), "items": [_failed_item(d) for d in items]}

    async def delivery(self, delivery_id: int) -> JSONObject:
        detail = await self.daemon.store.queue.detail(delivery_id)
        if detail is None:
            raise NotFound(f"no delivery {delivery_id}")
        d = detail.delivery
        try:
            payload = json.loads(d.payload)
        except ValueError:
            payload = {"unparsed": d.payload}
        attempts = [{"at": a.started_at.timestamp(), "outcome": a.outcome, "http_status": a.http_status,
                     "error_class": a.error_class, "message": a.message, "request": a.request_body,
                     "response": a.response_body} for a in detail.attempts]  # fmt: skip
        return {**_failed_item(d), "state": d.state, "payload": payload,
                "entries": await self._entries(d, detail.entries), "attempts": attempts,
                "blocked": await self._blocked(d)}  # fmt: skip

    async def retry(self, delivery_id: int, actor: str) -> JSONObject:
        delivery = await self._delivery(delivery_id, ("failed",))
        retried = await self.daemon.store.queue.retry([delivery_id], actor)
        self.daemon.wake(delivery.shop_id)
        return {"retried": retried}

    async def discard(self, delivery_id: int, actor: str, reason: str) -> JSONObject:
        if not reason.strip():
            raise BadRequest("a reason is required to discard a delivery")
        delivery = await self._delivery(delivery_id, ("pending", "failed"))
        discarded = await self.daemon.store.queue.discard([delivery_id], reason, actor)
        self.daemon.wake(delivery.shop_id)
        return {"discarded": discarded}

    async def bulk_retry(self, filter: FailedFilter, actor: str, dry_run: bool) -> JSONObject:
        where, queue = _store_filter(filter), self.daemon.store.queue
        matched = await queue.count_failed(where)
        retried = 0 if dry_run else await queue.retry_matching(where, actor)
        if retried:
            self.daemon.wake(filter.get("shop"))
        return {"matched": matched, "retried": retried}

    async def bulk_discard(self, filter: FailedFilter, reason: str, actor: str, dry_run: bool) -> JSONObject:
        if not reason.strip():
            raise BadRequest("a reason is required to discard deliveries")
        where, queue = _store_filter(filter), self.daemon.store.queue
        matched = await queue.count_failed(where)
        discarded = 0 if dry_run else await queue.discard_matching(where, reason, actor)
        if discarded:
            self.daemon.wake(filter.get("shop"))
        return {"matched": matched, "discarded": discarded}

    async def audit(self, shop: str | None, limit: int) -> JSONObject:
        if limit < 0:
            raise BadRequest("limit must not be negative")
        rows = await self.daemon.store.audit.list(shop_id=shop, limit=limit)
        return {"items": [{"at": r.at.timestamp(), "actor": r.actor, "action": r.action, "shop_id": r.shop_id,
                           "target": r.target, "detail": json.loads(r.detail or "{}")} for r in rows]}  # fmt: skip

    # -- helpers --------------------------------------------------------------------------------------------------

    async def _lane(self, shop_id: str) -> Lane:
        """A known shop's lane: one the daemon runs, or one configured that has not been seen yet."""
        if shop_id in self.daemon.lanes or shop_id in self.daemon.config.shops:
            return await self.daemon.lane(shop_id)
        raise NotFound(f"no shop {shop_id!r}: neither configured nor seen in the outbox")

    async def _delivery(self, delivery_id: int, states: tuple[str, ...]) -> Delivery:
        delivery = await self.daemon.store.deliveries.get(delivery_id)
        if delivery is None:
            raise NotFound(f"no delivery {delivery_id}")
        if delivery.state not in states:
            raise ControlError(f"delivery {delivery_id} is {delivery.state}: only {' or '.join(states)} ones can be")
        return delivery

    async def _status(self, lane: Lane) -> JSONObject:
        shop_id, config = lane.shop_id, self.daemon.config
        (stats,) = await self.daemon.store.queue.stats(shop_id)
        oldest = stats.oldest_pending_at
        limit = config.pennylane.rate_limit
        rate = {"limit": limit.requests, "window": limit.per_seconds, "used": 0, "waits": 0}
        if lane.client is not None:
            usage = lane.client.limiter.usage()
            rate = {"limit": usage.limit, "window": usage.window, "used": usage.in_window, "waits": usage.rate_limited}
        backfills = getattr(self.daemon, "backfills", None)
        shop = config.shops.get(shop_id)
        return {
            "shop_id": shop_id, "name": shop.label if shop else shop_id, "paused": lane.paused,
            "pause_reason": lane.pause_reason or None, "connection": await self._connection(lane),
            "queue_depth": stats.depth, "oldest_pending_age": None if oldest is None else _age(oldest.timestamp()),
            "delivered_today": stats.delivered_today, "failed": stats.failed, "rate_limit": rate,
            "throughput": lane.throughput(),
            "backfill": None if backfills is None else await backfills.get(shop_id),
        }  # fmt: skip

    async def _connection(self, lane: Lane) -> JSONObject:
        """The shop's ``Connection``: the stored grant, the lane's live health, never a token."""
        shop_id, client = lane.shop_id, lane.client
        stored = await self.daemon.store.connections.get(shop_id)
        kind, company_id, company_name, expires = None, None, None, None
        scopes: tuple[str, ...] = ()
        if stored is not None and stored.state != "disconnected":
            kind, company_id, company_name, scopes = stored.kind, stored.company_id, stored.company_name, stored.scopes
            expires = stored.expires_at.timestamp() if stored.expires_at else None
        elif client is not None and (me := await self._whoami(shop_id, client)) is not None:
            kind, company_id, company_name, scopes = "api_token", me.company_id, me.company_name, me.scopes
        dead = client is not None and client.connection.state is ConnectionState.RECONNECT_NEEDED
        if lane.reconnect_reason or dead:
            state = "reconnect_needed"
        elif lane.connected:
            state = "connected"
        elif self._pending.get(shop_id, 0.0) > time.time():
            state = "pending"
        else:
            state = "reconnect_needed" if stored is not None and stored.state == "reconnect_needed" else "disconnected"
        wanted = self.daemon.config.pennylane.scopes
        return {"state": state, "kind": kind, "company_id": company_id, "company_name": company_name,
                "scopes": list(scopes), "missing_scopes": [s for s in wanted if kind and s not in scopes],
                "expires_at": expires}  # fmt: skip

    async def _whoami(self, shop_id: str, client: PennylaneClient) -> Me | None:
        """The company behind a token given in the configuration (nothing stored): asked once per client."""
        known = self._me.get(shop_id)
        if known is not None and known[0] is client:
            return known[1]
        try:
            me = await client.me()
        except PennylaneError:
            return None
        self._me[shop_id] = (client, me)
        return me

    async def _entries(self, delivery: Delivery, sent: tuple[SentEntry, ...]) -> list[JSONObject]:
        """The entries the event books to (re-booked with the lane's mapping), with what the store knows of each."""
        by_piece = {e.piece_number: e for e in sent}
        lane = self.daemon.lanes.get(delivery.shop_id)
        try:
            if lane is None:
                raise BookingError(f"shop {delivery.shop_id}", "has no lane")
            booking = book(parse_event(_event_row(delivery)), lane.mapping())
        except (ContractError, BookingError):
            return [_entry(e.piece_number, str(e.journal_id), e.entry_date, e, []) for e in sent]
        result = []
        for entry in booking.entries:
            lines = [await self._line(delivery.shop_id, line) for line in entry.lines]
            cached = await self.daemon.store.caches.journal(delivery.shop_id, entry.register_id)
            code = cached.code if cached else lane.journal_spec(entry.register_id).code
            stored = by_piece.get(entry.piece_number)
            result.append(_entry(entry.piece_number, code, entry.date.isoformat(), stored, lines))
        return result

    async def _line(self, shop_id: str, line: EntryLine) -> JSONObject:
        account = line.account
        if isinstance(account, LedgerAccount):
            name = account.number
        elif isinstance(account, CustomerAccount):
            cached = await self.daemon.store.caches.customer(shop_id, account.external_reference)
            name = cached.account_number if cached else f"customer {account.external_reference}"
        else:
            name = f"customer account of order {account.order_id}"
        return {"account": name, "label": line.label, "debit": format_cents(line.debit),
                "credit": format_cents(line.credit)}  # fmt: skip

    async def _blocked(self, delivery: Delivery) -> list[int]:
        """Later open deliveries of the same aggregate: they wait until this one is delivered or discarded."""
        if delivery.state not in OPEN_STATES:
            return []
        rows = await self.daemon.store.db.read(
            "SELECT id FROM deliveries WHERE shop_id = ? AND aggregate_id = ? AND id > ? "
            "AND state IN ('pending', 'leased', 'failed') ORDER BY id",
            (delivery.shop_id, delivery.aggregate_id, delivery.id),
        )
        return [int(r[0]) for r in rows]


def mapping_accounts(mapping: ShopMapping) -> list[JSONObject]:
    """Every account the mapping books on, with its role; the same set as ``rules.accounts.required_accounts``."""
    rows: dict[str, JSONObject] = {}

    def add(role: str, key: str, account: LedgerAccount, rate: int | None = None) -> None:
        vat_rate = None if rate is None else format_rate(rate)
        rows.setdefault(account.number, {"role": role, "key": key, "number": account.number,
                                         "label": account.label, "vat_rate": vat_rate})  # fmt: skip

    for rate in mapping.vat_rates:
        for kind in _KINDS:
            add("sales", f"{kind} {format_rate(rate)}", sales_account(mapping, kind, rate, None), rate)
        if rate:
            add("vat", format_rate(rate), vat_account(mapping, rate), rate)
        if mapping.use_chapters:
            for chapter in sorted({*mapping.chapters, *mapping.chapter_accounts}):
                add("chapter", chapter, sales_account(mapping, "goods", rate, chapter), rate)
    add("customer", "counter", counter_customer_account(mapping))
    for method_id in sorted({*mapping.methods, *mapping.payment_methods}):
        info = mapping.methods.get(method_id)
        if info is not None and info.kind == "cash" and method_id not in mapping.payment_methods:
            for register_id in sorted(mapping.registers):
                add("payment", f"{method_id} {register_id}", method_account(mapping, method_id, register_id))
        else:
            add("payment", method_id, method_account(mapping, method_id, ""))
    add("difference", "shortage", cash_difference_account(mapping, shortage=True))
    add("difference", "surplus", cash_difference_account(mapping, shortage=False))
    if mapping.closing_entry:
        sales, receipts = closing_accounts(mapping)
        add("closing", "sales", sales)
        add("closing", "receipts", receipts)
    return list(rows.values())


def _store_filter(f: FailedFilter) -> StoreFilter:
    older_than = f.get("older_than")
    if older_than is not None and older_than < 0:
        raise BadRequest("older_than must not be negative")
    before = None if older_than is None else dt.datetime.now(dt.UTC) - dt.timedelta(seconds=older_than)
    return StoreFilter(f.get("shop"), f.get("event_type"), f.get("error_class"), f.get("http_status"), before)


def _failed_item(d: Delivery) -> JSONObject:
    failed_at = d.updated_at.timestamp()
    return {"id": d.id, "shop_id": d.shop_id, "event_id": d.event_id, "event_type": d.event_type,
            "aggregate_id": d.aggregate_id, "business_date": d.business_date, "error_class": d.last_error_class,
            "http_status": d.last_status, "message": d.last_error, "attempts": d.attempts, "failed_at": failed_at,
            "age": _age(failed_at)}  # fmt: skip


def _age(unix: float) -> float:
    return max(0.0, time.time() - unix)


def _entry(piece: str, journal: str, date: str, stored: SentEntry | None, lines: list[JSONObject]) -> JSONObject:
    return {"piece_number": piece, "journal": journal, "date": date,
            "state": stored.state if stored else "not_sent", "pennylane_id": stored.pennylane_id if stored else None,
            "lines": lines}  # fmt: skip


def _event_row(d: Delivery) -> dict[str, Any]:
    return {"id": d.outbox_id, "event_id": d.event_id, "shop_id": d.shop_id, "event_type": d.event_type,
            "aggregate_id": d.aggregate_id, "occurred_at": d.occurred_at, "payload": d.payload}  # fmt: skip
