"""Failed deliveries for the operator: the listing, one delivery in detail, retry and discard, one or in bulk.

The detail re-books the event with the lane's current mapping, so the operator sees the entries it *would* send
now next to what the store recorded of each (posted, unknown, not sent). A customer line shows the customer's 411
number, the one the operator looks for in Pennylane: booking needs only the account's id, so the number is read
from Pennylane the first time a detail shows it (one request per customer, then cached), within a few seconds or
not at all (said so) when the shop's rate limit is busy or it is not connected. A failed reference snapshot that
holds its whole shop (the claim's barrier) is marked so in the listing and the detail: otherwise it reads like one
event.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import TYPE_CHECKING

from outboxd.contract import parse_event
from outboxd.contract.parse import decode_payload
from outboxd.contract.row import QUARANTINE_SHOP
from outboxd.control.backend import FailedFilter
from outboxd.control.shapes import (
    Attempt,
    BulkDiscarded,
    BulkRetried,
    DeliveryDetail,
    DeliveryRef,
    Discarded,
    Entry,
    FailedItem,
    FailedList,
    Retried,
)
from outboxd.control.shapes import EntryLine as EntryLineShape
from outboxd.daemon.lanes import Lanes
from outboxd.delivery.deliver import event_row
from outboxd.delivery.lettering import lettering_view
from outboxd.exceptions import BadRequest, BookingError, ContractError, ControlError, NotFound, OutboxdError
from outboxd.money import format_cents
from outboxd.rules import CustomerAccount, LedgerAccount, book
from outboxd.store import Delivery, SentEntry, Store
from outboxd.store import FailedFilter as StoreFilter

if TYPE_CHECKING:
    from outboxd.rules import EntryLine

__all__ = ["FailedDeliveries", "age"]

NUMBER_READ_SECONDS = 3.0
"""How long a detail waits for a customer's 411 number from Pennylane before it shows the number as not read."""


class FailedDeliveries:
    """The ``failed``, ``delivery``, ``retry``, ``discard`` and ``bulk_*`` calls of the control API."""

    def __init__(self, store: Store, lanes: Lanes) -> None:
        self.store = store
        self.lanes = lanes

    async def failed(self, filter: FailedFilter, limit: int, offset: int) -> FailedList:
        if limit < 0 or offset < 0:
            raise BadRequest("limit and offset must not be negative")
        where, queue = _store_filter(filter), self.store.queue
        items = (await queue.failed(where, limit=offset + limit))[offset:]
        holding = set()
        for shop_id in {d.shop_id for d in items if d.aggregate_id == "reference"}:
            if (held := await queue.holding_reference(shop_id)) is not None:
                holding.add(held.id)
        return {"total": await queue.count_failed(where),
                "items": [_failed_item(d, holds_shop=d.id in holding) for d in items]}  # fmt: skip

    async def delivery(self, delivery_id: int) -> DeliveryDetail:
        queue = self.store.queue
        detail = await queue.detail(delivery_id)
        if detail is None:
            raise NotFound(f"no delivery {delivery_id}")
        d = detail.delivery
        try:
            payload = decode_payload(d.payload)
        except ContractError:  # not JSON, not an object, or nested past the contract's depth: shown as text
            payload = {"unparsed": d.payload}
        attempts: list[Attempt] = [{"at": a.started_at.timestamp(), "outcome": a.outcome, "http_status": a.http_status,
                     "error_class": a.error_class, "message": a.message, "request": a.request_body,
                     "response": a.response_body} for a in detail.attempts]  # fmt: skip
        blocked = await queue.blocked_by(d)
        order_id = payload.get("order_id") if d.event_type in ("order.recorded", "payment.recorded") else None
        lettering = await self.store.letterings.get(d.shop_id, order_id) if isinstance(order_id, str) else None
        return {**_reference(d, holds_shop=blocked.whole_shop), "state": d.state, "payload": payload,
                "entries": await self._entries(d, detail.entries), "attempts": attempts,
                "lettering": lettering_view(lettering),
                "blocked": list(blocked.ids), "blocked_total": blocked.total}  # fmt: skip

    async def retry(self, delivery_id: int, actor: str) -> Retried:
        delivery = await self._delivery(delivery_id, ("failed",), "retried")
        if delivery.shop_id == QUARANTINE_SHOP:
            raise BadRequest(
                f"delivery {delivery_id} was refused at ingestion: its shop_id cannot be read, so no retry can book"
                " it; discard it with a reason (Kash.Click must write the event again)"
            )
        retried = await self.store.queue.retry([delivery_id], actor)
        self.lanes.wake(delivery.shop_id)
        return {"retried": retried}

    async def discard(self, delivery_id: int, actor: str, reason: str) -> Discarded:
        if not reason.strip():
            raise BadRequest("a reason is required to discard a delivery")
        delivery = await self._delivery(delivery_id, ("pending", "failed"), "discarded")
        discarded = await self.store.queue.discard([delivery_id], reason, actor)
        self.lanes.wake(delivery.shop_id)
        return {"discarded": discarded}

    async def bulk_retry(self, filter: FailedFilter, actor: str, dry_run: bool) -> BulkRetried:
        where, queue = _store_filter(filter), self.store.queue
        matched = await queue.count_failed(where)
        retried = 0 if dry_run else await queue.retry_matching(where, actor)
        if retried:
            self.lanes.wake(filter.get("shop"))
        return {"matched": matched, "retried": retried}

    async def bulk_discard(self, filter: FailedFilter, reason: str, actor: str, dry_run: bool) -> BulkDiscarded:
        if not reason.strip():
            raise BadRequest("a reason is required to discard deliveries")
        where, queue = _store_filter(filter), self.store.queue
        matched = await queue.count_failed(where)
        discarded = 0 if dry_run else await queue.discard_matching(where, reason, actor)
        if discarded:
            self.lanes.wake(filter.get("shop"))
        return {"matched": matched, "discarded": discarded}

    async def _delivery(self, delivery_id: int, states: tuple[str, ...], done: str) -> Delivery:
        delivery = await self.store.deliveries.get(delivery_id)
        if delivery is None:
            raise NotFound(f"no delivery {delivery_id}")
        if delivery.state not in states:
            raise ControlError(
                f"delivery {delivery_id} is {delivery.state}: only {' or '.join(states)} ones can be {done}"
            )
        return delivery

    async def _entries(self, delivery: Delivery, sent: tuple[SentEntry, ...]) -> list[Entry]:
        """The entries the event books to (re-booked with the lane's mapping), with what the store knows of each."""
        by_piece = {e.piece_number: e for e in sent}
        lane = self.lanes.get(delivery.shop_id)
        try:
            if lane is None:
                raise BookingError(f"shop {delivery.shop_id}", "has no lane")
            booking = book(parse_event(event_row(delivery)), lane.mapping())
        except (ContractError, BookingError):
            return [_entry(e.piece_number, str(e.journal_id), e.entry_date, e, []) for e in sent]
        result = []
        for entry in booking.entries:
            lines = [await self._line(delivery.shop_id, line) for line in entry.lines]
            cached = await self.store.caches.journal(delivery.shop_id, entry.register_id)
            code = cached.code if cached else lane.journal_spec(entry.register_id).code
            stored = by_piece.get(entry.piece_number)
            result.append(_entry(entry.piece_number, code, entry.date.isoformat(), stored, lines))
        return result

    async def _line(self, shop_id: str, line: EntryLine) -> EntryLineShape:
        account = line.account
        if isinstance(account, LedgerAccount):
            name = account.number
        elif isinstance(account, CustomerAccount):
            name = await self._customer_number(shop_id, account.external_reference)
        else:
            name = f"customer account of order {account.order_id}"
        return {"account": name, "label": line.label, "debit": format_cents(line.debit),
                "credit": format_cents(line.credit)}  # fmt: skip

    async def _customer_number(self, shop_id: str, external_reference: str) -> str:
        """The customer's 411 number: cached, else read now through the shop's lane (see the module's docstring)."""
        cached = await self.store.caches.customer(shop_id, external_reference)
        if cached is None:
            return f"customer {external_reference}"
        if cached.account_number is not None:
            return cached.account_number
        lane = self.lanes.get(shop_id)
        if lane is not None and lane.connected:
            try:
                async with asyncio.timeout(NUMBER_READ_SECONDS):
                    return await lane.resolver.read_customer_number(external_reference, cached.ledger_account_id)
            except (TimeoutError, OutboxdError):
                pass
        return f"customer {external_reference} (411 number not read)"


def age(unix: float) -> float:
    """Seconds since ``unix``, never negative (clocks of the store and of this process may disagree slightly)."""
    return max(0.0, time.time() - unix)


def _store_filter(f: FailedFilter) -> StoreFilter:
    older_than = f.get("older_than")
    if older_than is not None and older_than < 0:
        raise BadRequest("older_than must not be negative")
    before = None if older_than is None else dt.datetime.now(dt.UTC) - dt.timedelta(seconds=older_than)
    return StoreFilter(f.get("shop"), f.get("event_type"), f.get("error_class"), f.get("http_status"), before)


def _failed_item(d: Delivery, *, holds_shop: bool) -> FailedItem:
    return {**_reference(d, holds_shop=holds_shop), "attempts": d.attempts}


def _reference(d: Delivery, *, holds_shop: bool) -> DeliveryRef:
    failed_at = d.updated_at.timestamp()
    return {"id": d.id, "shop_id": d.shop_id, "event_id": d.event_id, "event_type": d.event_type,
            "aggregate_id": d.aggregate_id, "business_date": d.business_date, "error_class": d.last_error_class,
            "http_status": d.last_status, "message": d.last_error, "failed_at": failed_at,
            "age": age(failed_at), "holds_shop": holds_shop}  # fmt: skip


def _entry(piece: str, journal: str, date: str, stored: SentEntry | None, lines: list[EntryLineShape]) -> Entry:
    return {"piece_number": piece, "journal": journal, "date": date,
            "state": stored.state if stored else "not_sent", "pennylane_id": stored.pennylane_id if stored else None,
            "lines": lines}  # fmt: skip
