"""Daily backfills: each closed register-day booked as one entry (``book_day``), in date order, beside live traffic.

Pennylane's rate limit sets the pace, so the limiter must never wait for this loop. The customers and accounts of
a day are resolved concurrently (``RESOLVING`` at a time; the resolver's per-key locks create each once), and
those of the next day while this one is posted. The customers a backfill may create are first looked up together
(``Resolver.prefetch_customers``, 100 per request: the whole backfill's at its first day, then each day's not known
yet, for a day that came since), so that each new one costs its create alone. Days are still
posted one after another in date order: a payment books against the account its order was booked on, remembered
when the order's day is settled. What a day leaves to remember (each ticket's account, its customer lines to
letter) is written with the day's settle, in one unit of writes (docs/accounting.md, "Lettering").
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import structlog

from outboxd.contract import Event, OrderRecorded, parse_event
from outboxd.daemon.lanes import Lanes
from outboxd.delivery.deliver import Deliverer, event_row
from outboxd.delivery.lane import Lane
from outboxd.exceptions import AuthError, BookingError, ContractError, OutboxdError, PennylaneError, PermanentError
from outboxd.pennylane import PostedEntry
from outboxd.rules import AccountRef, Booking, CustomerAccount, OrderCustomerAccount, ShopMapping, customer_reference
from outboxd.rules.daily import DayBooking, book_day
from outboxd.store import Delivery
from outboxd.store.caches import Caches
from outboxd.store.history import History

__all__ = ["DayBooker", "DaySettle"]

log = structlog.get_logger("outboxd.backfill")

RESOLVING = 4
"""Ids resolved at once per shop: enough to keep the limiter's queue full at Pennylane's round trips (0.1-0.3 s
for 25 requests per 5 s), few enough that a live delivery queues behind a handful of backfill requests only."""
KEPT_AHEAD = 8
"""Register-days kept booked ahead at most (two days of a shop's registers are in use at a time)."""
RETRY_AFTER = 0.5
"""Seconds before a register-day that met a retryable error (5xx, 429, no answer) is tried again."""


class DaySettle(Protocol):
    """Where a register-day's events go once booked, or when it cannot be booked as one entry (a backfill's history,
    or the live register-days of a shop booking daily)."""

    async def deliver_day(self, ids: Iterable[int], also: Sequence[tuple[str, Any]] = ()) -> int: ...

    async def to_detailed(self, ids: Iterable[int]) -> int: ...


class DayBooker:
    """Books the register-days of daily backfills; ``book_next`` is called in a loop by the Backfiller."""

    def __init__(self, history: History, lanes: Lanes, deliverer: Deliverer) -> None:
        self.history = history
        self.lanes = lanes
        self.deliverer = deliverer
        self._ahead: set[asyncio.Task[None]] = set()
        self._looked_up: set[int] = set()
        """Backfills whose customers were looked up at once (by this process)."""
        self._booked: dict[tuple[int, int, int], tuple[list[Event], DayBooking]] = {}
        """Register-days parsed and booked ahead (to resolve their ids), kept until they are posted: parsing and
        booking a busy day is most of a daily backfill's CPU, done once instead of three times."""

    async def book_next(self, lane: Lane, backfill_id: int) -> bool:
        """Book the earliest business day still to book, register by register (True if there was one)."""
        days = await self.history.next_days(lane.shop_id, backfill_id, 2)
        if not days:
            return False
        if backfill_id not in self._looked_up:
            self._looked_up.add(backfill_id)
            await self._look_up_customers(lane, backfill_id)
        if len(days) > 1:
            task = asyncio.create_task(self._resolve_ahead(lane, days[1]), name=f"backfill-ahead-{backfill_id}")
            self._ahead.add(task)
            task.add_done_callback(self._ahead.discard)
        try:  # looked up ahead already, but for a backfill's first day: then nothing is asked again
            await _prefetch(lane, self._day_accounts(lane, days[0]))
        except OutboxdError as exc:  # whatever fails here fails again when the day is booked, and is handled there
            log.debug("backfill.prefetch_failed", shop=lane.shop_id, reason=str(exc))
        for rows in _by_register(days[0]).values():
            await self.book_register_day(lane, rows, self.history)
        return True

    async def _look_up_customers(self, lane: Lane, backfill_id: int) -> None:
        """Every customer the backfill may create, looked up in lists of 100 instead of a list per day (a year of
        a busy shop: 4 lookups instead of ~300). Best effort: each day still looks up what is not known."""
        mapping = lane.mapping()
        if mapping.customers == "none":
            return
        try:
            ids = await self.history.customers(lane.shop_id, backfill_id, owing_only=mapping.customers != "all")
            await lane.resolver.prefetch_customers(customer_reference(lane.shop_id, c) for c in sorted(ids))
        except OutboxdError as exc:
            log.debug("backfill.prefetch_failed", shop=lane.shop_id, reason=str(exc))

    async def close(self) -> None:
        """Stop resolving ahead (the daemon stops, or the loop that called ``book_next`` ended)."""
        for task in self._ahead:
            task.cancel()
        await asyncio.gather(*self._ahead, return_exceptions=True)

    async def book_register_day(self, lane: Lane, rows: list[Delivery], settle: DaySettle) -> bool:
        """One register-day's events as one entry (parts past 1,000 lines), settled through ``settle``; False when
        it is to be tried again (a retryable error), so that later days wait for it."""
        deliverer = self.deliverer
        bound = log.bind(shop=lane.shop_id, day=rows[0].business_date, events=len(rows))
        try:
            mapping = lane.mapping(rows[0].outbox_id)  # the reference of the register-day's first event
            key = _day_key(rows)
            events, booking = self._booked.pop(key) if key in self._booked else self._book(rows, mapping)
            await deliverer.prepare(lane, booking)
            await _resolve(lane, _accounts(booking))  # every id before any POST: a BookingError comes first
            created: dict[str, PostedEntry] = {}
            for entry in booking.entries:
                if (posted := await deliverer.post_once(lane, rows[0], entry, bound)) is not None:
                    created[entry.piece_number] = posted
            numbers = {e.payload.order_id: e.payload.number for e in events if isinstance(e.payload, OrderRecorded)}
            also = [*await _order_accounts(lane, booking, deliverer.store.caches),
                    *await deliverer.letterer.day_statements(lane, booking, created, numbers)]  # fmt: skip
        except (ContractError, BookingError, PermanentError) as exc:
            moved = await self._to_detailed(lane, rows, settle)
            bound.warning("backfill.day_to_detailed", reason=str(exc), moved=moved)
            return True
        except (AuthError, PennylaneError) as exc:  # retryable, rate limited, unknown outcome: the day is tried again
            bound.warning("backfill.day_retry", reason=str(exc))
            await asyncio.sleep(RETRY_AFTER)
            return False
        except Exception:  # a bug: the Deliverer takes the day event by event, and keeps the faulty one failed
            bound.exception("backfill.day_crashed")
            await self._to_detailed(lane, rows, settle)
            return True
        await settle.deliver_day((row.id for row in rows), also)
        for _ in rows:
            lane.delivered()
        bound.info("backfill.day_booked", entries=len(booking.entries))
        return True

    async def _to_detailed(self, lane: Lane, rows: list[Delivery], settle: DaySettle) -> int:
        moved = await settle.to_detailed(row.id for row in rows)
        self.lanes.wake(lane.shop_id)
        return moved

    def _book(self, rows: list[Delivery], mapping: ShopMapping) -> tuple[list[Event], DayBooking]:
        events = [parse_event(event_row(row)) for row in rows]
        return events, book_day(events, mapping)

    def _day_accounts(self, lane: Lane, rows: list[Delivery]) -> list[AccountRef]:
        """What a day's entries book on, every register together (a register-day that cannot be booked adds none);
        each register-day's booking is kept for its posting."""
        accounts: dict[AccountRef, None] = {}
        for register_rows in _by_register(rows).values():
            key = _day_key(register_rows)
            try:
                booked = self._booked.get(key) or self._book(register_rows, lane.mapping(register_rows[0].outbox_id))
            except Exception as exc:  # such a register-day (even a bug) is handled when it is booked
                log.debug("backfill.day_not_looked_ahead", shop=lane.shop_id, reason=str(exc))
                continue
            self._booked[key] = booked
            while len(self._booked) > KEPT_AHEAD:  # days that were never posted (a backfill cancelled...)
                del self._booked[next(iter(self._booked))]
            accounts.update(dict.fromkeys(_accounts(booked[1])))
        return list(accounts)

    async def _resolve_ahead(self, lane: Lane, rows: list[Delivery]) -> None:
        """The next day's customers and accounts, created while this day posts. Best effort: whatever fails here
        fails again when that day is booked, and is handled there."""
        accounts = self._day_accounts(lane, rows)
        try:
            await _prefetch(lane, accounts)
            await _resolve(lane, (a for a in accounts if not isinstance(a, OrderCustomerAccount)))
        except OutboxdError as exc:
            log.debug("backfill.resolve_ahead_failed", shop=lane.shop_id, reason=str(exc))


async def _order_accounts(lane: Lane, booking: DayBooking, caches: Caches) -> list[tuple[str, Any]]:
    """The account each ticket of the day was booked on, for its later payments (to write with the day's settle)."""
    return [caches.order_account_statement(lane.shop_id, order_id, await lane.resolver.account(account))
            for order_id, account in booking.order_accounts.items()]  # fmt: skip


def _accounts(booking: Booking) -> list[AccountRef]:
    return list(dict.fromkeys(line.account for entry in booking.entries for line in entry.lines))


def _day_key(rows: list[Delivery]) -> tuple[int, int, int]:
    return rows[0].id, rows[-1].id, len(rows)


async def _prefetch(lane: Lane, accounts: list[AccountRef]) -> None:
    await lane.resolver.prefetch_customers(a.external_reference for a in accounts if isinstance(a, CustomerAccount))


async def _resolve(lane: Lane, accounts: Iterable[AccountRef]) -> None:
    """Resolve ids ``RESOLVING`` at a time; the first error is raised (the others are cancelled)."""
    gate = asyncio.Semaphore(RESOLVING)

    async def one(account: AccountRef) -> None:
        async with gate:
            await lane.resolver.account(account)

    try:
        async with asyncio.TaskGroup() as group:
            for account in accounts:
                group.create_task(one(account))
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None


def _by_register(rows: list[Delivery]) -> dict[str, list[Delivery]]:
    groups: dict[str, list[Delivery]] = {}
    for row in rows:
        groups.setdefault(_register_of(row), []).append(row)
    return groups


def _register_of(row: Delivery) -> str:
    try:
        return str(json.loads(row.payload).get("register_id", ""))
    except (ValueError, AttributeError):
        return ""
