"""One delivery carried to its next state: parse, book, resolve ids, post each entry exactly once.

The dedup rule lives here. Before its POST each entry's piece_number is recorded; an entry found recorded
(a crash or a timeout since) or unknown (sent, no answer) is looked up in Pennylane, among the entries of its
journal and date, before anything is posted again. Whatever raises, ``deliver`` settles the delivery: delivered,
failed (contract, booking, permanent), retried later with backoff, or deferred without spending an attempt.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from outboxd.contract import OrderRecorded, ReferenceUpdated, RegisterClosed, parse_event
from outboxd.delivery.lane import Lane
from outboxd.delivery.lettering import Letterer
from outboxd.delivery.zreport import warn_z_mismatch
from outboxd.exceptions import (
    AuthError,
    BookingError,
    ContractError,
    NotOwner,
    PermanentError,
    PieceNumberTaken,
    RateLimited,
    RetryableError,
    UnknownOutcomeError,
)
from outboxd.metrics import Metrics
from outboxd.pennylane import Exchange, LedgerEntryLine, LedgerEntryRequest, PennylaneClient, PostedEntry
from outboxd.rules import AccountRef, Booking, CustomerAccount, Entry, LedgerAccount, book
from outboxd.store import AttemptOutcome, Delivery, Store

__all__ = ["Backoff", "Deliverer", "event_row", "ledger_entry"]

log = structlog.get_logger("outboxd.delivery")

_exchanges: contextvars.ContextVar[list[Exchange] | None] = contextvars.ContextVar("exchanges", default=None)
"""The HTTP exchanges of the delivery running in this task (each delivery runs in a task of its own)."""


def trace_exchange(exchange: Exchange) -> None:
    """The trace hook of every lane's client: files each exchange under the current delivery's attempt."""
    exchanges = _exchanges.get()
    if exchanges is not None:
        exchanges.append(exchange)


def ledger_entry(entry: Entry, journal_id: int, account_ids: Mapping[AccountRef, int]) -> LedgerEntryRequest:
    """``entry`` as Pennylane creates it, in ``journal_id``, each line's account replaced by the id resolved for it."""
    lines = tuple(
        LedgerEntryLine(account_ids[line.account], line.debit, line.credit, line.label) for line in entry.lines
    )
    return LedgerEntryRequest(entry.date, entry.label, journal_id, entry.piece_number, entry.currency, lines)


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with jitter on the upper half: base * 2**(attempt-1), at most cap.

    After ``max_attempts`` retryable failures the event waits for an operator (failed), so an endless
    outage shows up in the failed list instead of retrying silently for ever.
    """

    base: float
    cap: float
    max_attempts: int  # the defaults are the configuration's (daemon.backoff_base, backoff_cap, max_attempts)

    def delay(self, attempts_so_far: int, rng: random.Random) -> float:
        ceiling = min(self.cap, self.base * 2.0 ** min(attempts_so_far, 30))
        return ceiling * (0.5 + rng.random() / 2)


class Deliverer:
    """Turns claimed deliveries into Pennylane entries, one at a time per aggregate (the claim sees to that)."""

    def __init__(self, store: Store, metrics: Metrics, backoff: Backoff, *, rng: random.Random | None = None) -> None:
        self.store = store
        self.metrics = metrics
        self.backoff = backoff
        self.rng = rng or random.Random()
        self.letterer = Letterer(store, metrics, backoff, self.rng)

    async def deliver(self, lane: Lane, delivery: Delivery) -> None:
        """Never raises (but CancelledError): a bug in one event must not stop the daemon."""
        bound = log.bind(shop=delivery.shop_id, event_id=delivery.event_id, delivery=delivery.id)
        started = dt.datetime.now(dt.UTC)
        exchanges: list[Exchange] = []
        _exchanges.set(exchanges)
        outcome: AttemptOutcome = "retry"
        error: tuple[str, str, int | None] | None = None
        try:
            await self._deliver(lane, delivery, bound, started, exchanges)
            return
        except ContractError as exc:
            outcome, error = "failed", ("contract", str(exc), None)
        except BookingError as exc:
            outcome, error = "failed", ("booking", str(exc), None)
        except PermanentError as exc:
            outcome, error = "failed", ("permanent", exc.message, exc.status)
        except AuthError as exc:
            outcome, error = "deferred", ("auth", exc.message, exc.status)
            lane.reconnect_needed(exc.message)
            await self.store.connections.set_state(delivery.shop_id, "reconnect_needed")
            await self.store.deliveries.defer(delivery.id, started + dt.timedelta(seconds=5))
            bound.warning("delivery.auth_failed", reason=exc.message)
        except RateLimited as exc:
            outcome, error = "deferred", ("retryable", exc.message, exc.status)
            await self.store.deliveries.defer(delivery.id, started + dt.timedelta(seconds=exc.retry_after))
            self.metrics.inc("outboxd_rate_limit_waits_total", shop=delivery.shop_id)
        except NotOwner as exc:  # the lane's new owner claims it as soon as this claim is given back
            outcome, error = "deferred", ("retryable", exc.message, exc.status)
            await self.store.deliveries.defer(delivery.id, started)
            bound.warning("delivery.lane_lost", reason=exc.message)
        except (RetryableError, UnknownOutcomeError) as exc:
            kind = "unknown_outcome" if isinstance(exc, UnknownOutcomeError) else "retryable"
            outcome, error = ("unknown" if kind == "unknown_outcome" else "retry"), (kind, exc.message, exc.status)
            await self._retry(delivery, kind, exc.message, exc.status, bound)
        except Exception as exc:  # a bug: keep the event, retry later, say so loudly
            bound.exception("delivery.crashed")
            error = ("internal", f"{type(exc).__name__}: {exc}", None)
            await self._retry(delivery, *error, bound)
        if outcome == "failed" and error is not None:
            await self._fail(delivery, *error, bound)
        await self._record_attempt(delivery, started, outcome, error, exchanges)

    async def _record_attempt(
        self,
        delivery: Delivery,
        started: dt.datetime,
        outcome: AttemptOutcome,
        error: tuple[str, str, int | None] | None,
        exchanges: list[Exchange],
    ) -> None:
        """The operator's attempt timeline: the last exchange tells what Pennylane answered."""
        status, request_body, response_body = _last_exchange(exchanges)
        await self.store.entries.record_attempt(
            delivery.id,
            started_at=started,
            outcome=outcome,
            http_status=error[2] if error else status,
            error_class=error[0] if error else None,
            message=error[1] if error else None,
            request_body=request_body,
            response_body=response_body,
        )

    async def _deliver(
        self, lane: Lane, delivery: Delivery, bound: Any, started: dt.datetime, exchanges: list[Exchange]
    ) -> None:
        """Book and post the event, then settle it delivered with its attempt in one unit of writes."""
        event = parse_event(event_row(delivery))
        if isinstance(event.payload, ReferenceUpdated):
            await self.store.shops.save_reference(delivery.shop_id, delivery.payload, delivery.outbox_id)
            lane.set_reference(event.payload, delivery.outbox_id)
        mapping = lane.mapping(delivery.outbox_id)  # the reference in force at its position in the outbox
        booking = book(event, mapping, ticket_number=await self.letterer.ticket_number(lane.shop_id, event))
        await self.prepare(lane, booking)
        posted: tuple[str, int] | None = None
        for entry in booking.entries[:-1]:
            await self.post_once(lane, delivery, entry, bound)
        created = None
        if booking.entries:  # the last entry is marked posted with the delivery (see Store.settle_delivered)
            last = booking.entries[-1]
            if (created := await self._post(lane, delivery, last, bound)) is not None:
                posted = (last.piece_number, created.id)
        order_account = None
        if isinstance(event.payload, OrderRecorded) and booking.entries:
            order_account = (event.payload.order_id, await self.customer_account_id(lane, booking, delivery.outbox_id))
        customer = order_account[1] if order_account else None
        lettering = await self.letterer.line_statements(lane, event, booking, created, customer)
        status, request_body, response_body = _last_exchange(exchanges)
        await self.store.settle_delivered(
            delivery.shop_id, delivery.id, started_at=started, posted=posted, order_account=order_account,
            http_status=status, request_body=request_body, response_body=response_body,
            note="; ".join(booking.notes) or None, also=lettering,
        )  # fmt: skip
        closing = event.payload if isinstance(event.payload, RegisterClosed) and not delivery.backfill else None
        if closing is not None and (await warn_z_mismatch(self.store, delivery.shop_id, closing, bound)).mismatch:
            self.metrics.inc("outboxd_z_mismatches_total", shop=delivery.shop_id)  # a backfill's are checked on demand
        await self.letterer.after_delivery(lane, event)
        lane.delivered()
        self.metrics.inc("outboxd_deliveries_total", shop=delivery.shop_id, result="delivered")
        self.metrics.observe_latency((dt.datetime.now(dt.UTC) - delivery.created_at).total_seconds())
        # one info line per event: after a delivery.posted line this one says nothing new unless there are notes
        said = bound.debug if posted is not None and not booking.notes else bound.info
        said("delivery.delivered", entries=len(booking.entries), notes=list(booking.notes) or None)

    async def prepare(self, lane: Lane, booking: Booking) -> None:
        """Journals and accounts first (a reference snapshot brings journals only: accounts exist once booked on)."""
        for journal in booking.journals:
            await lane.journal_id(journal)
        for account in booking.accounts:
            await lane.resolver.account(account)

    async def customer_account_id(self, lane: Lane, booking: Booking, at: int | None) -> int:
        """The account the ticket's customer side was booked on: its payments credit the same one."""
        counter = lane.mapping(at).counter_customer
        for line in booking.entries[0].lines:
            account = line.account
            if isinstance(account, CustomerAccount) or (
                isinstance(account, LedgerAccount) and account.number == counter
            ):
                return await lane.resolver.account(account)
        raise AssertionError("an order entry always has a customer line")

    async def post_once(self, lane: Lane, delivery: Delivery, entry: Entry, bound: Any) -> PostedEntry | None:
        """Post ``entry`` unless Pennylane already has it (the dedup rule); marked posted when this returns. The
        entry posted now (its lines' ids), or None: it was posted before."""
        if (created := await self._post(lane, delivery, entry, bound)) is not None:
            await self.store.entries.mark_posted(delivery.shop_id, entry.piece_number, created.id)
        return created

    async def _post(self, lane: Lane, delivery: Delivery, entry: Entry, bound: Any) -> PostedEntry | None:
        """Record, then POST: the new entry (its id and lines' ids), for the caller to mark posted (None: nothing
        was posted now)."""
        shop = delivery.shop_id
        journal_id = await lane.journal_id(lane.journal_spec(entry.register_id, delivery.outbox_id))
        ids = {line.account: await lane.resolver.account(line.account) for line in entry.lines}
        request = ledger_entry(entry, journal_id, ids)
        digest = hashlib.sha256(json.dumps(request.body(), sort_keys=True).encode()).hexdigest()
        try:
            sent = await self.store.entries.record_first(
                shop, entry.piece_number, delivery.id, journal_id, entry.date, digest
            )
        except PieceNumberTaken as exc:
            raise BookingError(
                f"piece_number {entry.piece_number}",
                f"already booked by delivery {exc.owner} of this shop: two events give the same piece_number (a "
                "ticket number used twice on a register, or shops sharing one Pennylane company with one prefix)",
                "compare the two events (outboxd ctl show); discard this one if it is the same sale, else give each "
                "shop of the company its own mapping.piece_number.prefix",
            ) from exc
        if sent is not None:
            if sent.state == "posted":
                return None
            found = await self._find_piece(lane, journal_id, entry)
            if found is not None:
                await self.store.entries.mark_posted(shop, entry.piece_number, found)
                bound.info("delivery.found_after_unknown_outcome", piece_number=entry.piece_number, pennylane_id=found)
                self.metrics.inc("outboxd_dedup_found_total", shop=shop)
                return None
        try:
            created = await _client(lane).create_ledger_entry(request)
        except UnknownOutcomeError:
            await self.store.entries.mark_unknown(shop, entry.piece_number)
            bound.warning("delivery.unknown_outcome", piece_number=entry.piece_number)
            raise
        self.metrics.inc("outboxd_entries_posted_total", shop=shop)
        bound.info("delivery.posted", piece_number=entry.piece_number, pennylane_id=created.id)
        return created

    async def _find_piece(self, lane: Lane, journal_id: int, entry: Entry) -> int | None:
        for item in await _client(lane).list_ledger_entries(journal_id, entry.date):
            if item.get("piece_number") == entry.piece_number:
                return int(item["id"])
        return None

    async def _fail(self, delivery: Delivery, error_class: str, message: str, status: int | None, bound: Any) -> None:
        await self.store.deliveries.mark_failed(delivery.id, error_class, message, status)
        self.metrics.inc("outboxd_deliveries_total", shop=delivery.shop_id, result="failed")
        bound.error("delivery.failed", error_class=error_class, status=status, reason=message)

    async def _retry(self, delivery: Delivery, error_class: str, message: str, status: int | None, bound: Any) -> None:
        if delivery.attempts + 1 >= self.backoff.max_attempts:
            reason = f"gave up after {delivery.attempts + 1} attempts: {message}"
            await self._fail(delivery, error_class, reason, status, bound)
            return
        delay = self.backoff.delay(delivery.attempts, self.rng)
        at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay)
        await self.store.deliveries.schedule_retry(delivery.id, at, error_class, message, status)
        self.metrics.inc("outboxd_retries_total", shop=delivery.shop_id, error_class=error_class)
        bound.warning(
            "delivery.retry", error_class=error_class, status=status, reason=message, in_seconds=round(delay, 1)
        )


def _last_exchange(exchanges: list[Exchange]) -> tuple[int | None, str | None, str | None]:
    """What Pennylane last answered in an attempt: HTTP status, request and response (redacted by the client)."""
    if not exchanges:
        return None, None, None
    last = exchanges[-1]
    return last.status, f"{last.method} {last.path} {last.request_body}".strip(), last.response_text or last.error


def _client(lane: Lane) -> PennylaneClient:
    if lane.client is None:  # the dispatcher claims only for connected lanes; a disconnect mid-flight lands here
        raise RetryableError(f"shop {lane.shop_id} is not connected to Pennylane")
    return lane.client


def event_row(delivery: Delivery) -> dict[str, Any]:
    """The outbox row a delivery was made from, as the contract parses it."""
    return {
        "id": delivery.outbox_id,
        "event_id": delivery.event_id,
        "shop_id": delivery.shop_id,
        "event_type": delivery.event_type,
        "aggregate_id": delivery.aggregate_id,
        "occurred_at": delivery.occurred_at,
        "payload": delivery.payload,
    }
