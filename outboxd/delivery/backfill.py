"""Backfills: a shop's history held until an operator picks a start date and a mode, then sent beside live traffic.

- The hold: at a shop's first connection, what waits in its queue becomes history (``History.first_connection``);
  the dispatcher never claims it (priority 2). ``gate`` records that first connection before the first claim.
- ``start``: history before the start date is skipped with the reason; from it on, detailed mode hands the rows
  to the dispatcher at backfill priority (live first); daily mode books each closed register-day not yet touched
  as one entry (``book_day``) here, one day at a time, and hands the rest to the dispatcher.
- State lives in the store (priorities, the backfill row): a restart resumes where it stopped; piece_numbers
  and ``sent_entries`` make a second run or an overlap with live delivery post nothing twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import time
from collections import defaultdict, deque
from typing import TYPE_CHECKING, Any

import structlog

from outboxd.contract import OrderRecorded, parse_event
from outboxd.delivery.deliver import event_row
from outboxd.delivery.lane import Lane
from outboxd.exceptions import (
    AuthError,
    BadRequest,
    BookingError,
    ContractError,
    NotFound,
    PennylaneError,
    PermanentError,
)
from outboxd.pennylane import FiscalYear
from outboxd.rules import book
from outboxd.rules.daily import book_day
from outboxd.store import Backfill, Delivery
from outboxd.store.history import DAILY, History

if TYPE_CHECKING:
    from outboxd.delivery.daemon import Daemon

__all__ = ["Backfiller"]

log = structlog.get_logger("outboxd.backfill")

TICK = 0.5
"""Seconds between two passes of the backfill loop when it has no day to book."""
RATE_SPAN = 60.0
"""Seconds of progress samples the rate (and so the ETA) is measured over."""
OPEN_YEAR = ("open", "reopen")


class Backfiller:
    """The five control calls of docs/control-api.md and the loop that books days and notices the end."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.store = daemon.store
        self.history = History(daemon.store.db, daemon.store.clock)
        self._connected: set[str] = set()
        self._samples: defaultdict[int, deque[tuple[float, int]]] = defaultdict(lambda: deque(maxlen=240))

    # -- the hold ---------------------------------------------------------------------------------------------

    async def open(self) -> None:
        """At start, before the outbox is tailed: shops connected now have been connected since now at the latest."""
        self._connected = await self.history.connected_shops()
        for lane in self.daemon.lanes.values():
            await self.gate(lane)

    async def gate(self, lane: Lane) -> None:
        """Before a claim: a shop seen connected for the first time turns what waits into history (held)."""
        if lane.shop_id in self._connected or not lane.connected:
            return
        shop = self.daemon.config.shops.get(lane.shop_id)
        hold = shop.backfill.offer_on_connect if shop is not None else True
        held = await self.history.first_connection(lane.shop_id, hold=hold)
        self._connected.add(lane.shop_id)
        log.info("backfill.first_connection", shop=lane.shop_id, held=held)

    # -- control calls ----------------------------------------------------------------------------------------

    async def estimate(self, shop_id: str, start_date: str | None) -> dict[str, Any]:
        lane = await self._lane(shop_id)
        years, refused = await self._fiscal_years(lane)
        default = _default_start(years, self._today())
        start = _date(start_date) if start_date else default
        refused = refused or _refusal(years, start)
        days = await self.history.register_days(shop_id, start)
        busy = await self.history.busy_register_days(shop_id, start)
        events = sum(n for *_, n in days)
        detailed = sum(n for day, _, n in days if day is not None)
        daily = sum(
            n if day is None or day >= self._today().isoformat() or (day, reg) in busy else math.ceil(n / 900)
            for day, reg, n in days
            if day is not None
        )
        per_second = self._requests_per_second()
        return {
            "start_date": start.isoformat(),
            "default_start_date": default.isoformat(),
            "events": events,
            "modes": {
                "detailed": {"requests": detailed, "seconds": round(detailed / per_second)},
                "daily": {"requests": daily, "seconds": round(daily / per_second)},
            },
            "refused": refused,
        }

    async def start(self, shop_id: str, actor: str, start_date: str, mode: str) -> dict[str, Any]:
        if mode not in ("detailed", "daily"):
            raise BadRequest(f"mode must be 'detailed' or 'daily', not {mode!r}")
        start = _date(start_date)
        lane = await self._lane(shop_id)
        years, refused = await self._fiscal_years(lane)
        refused = refused or _refusal(years, start)
        if refused:
            raise BadRequest(refused)
        if (active := await self._active(shop_id)) is not None:
            raise BadRequest(
                f"backfill {active.id} of shop {shop_id} is still {active.state}: pause or cancel it first"
            )
        await self.gate(lane)
        backfill = await self.store.backfills.create(
            shop_id, start, None, "daily" if mode == "daily" else "detailed", actor
        )
        today = self._today()
        busy = await self.history.busy_register_days(shop_id, start) if mode == "daily" else set()
        total = await self.history.release(backfill.id, shop_id, start, today if mode == "daily" else None, busy)
        backfill = await self.store.backfills.update(backfill.id, state="running", total_events=total)
        log.info(
            "backfill.started", shop=shop_id, backfill=backfill.id, start=start.isoformat(), mode=mode, total=total
        )
        self.daemon.wake(shop_id)
        return await self._view(backfill)

    async def get(self, shop_id: str) -> dict[str, Any] | None:
        backfills = await self.store.backfills.list(shop_id)
        return await self._view(backfills[0]) if backfills else None

    async def pause(self, shop_id: str, actor: str) -> dict[str, Any]:
        return await self._set_paused(shop_id, actor, True)

    async def resume(self, shop_id: str, actor: str) -> dict[str, Any]:
        return await self._set_paused(shop_id, actor, False)

    async def cancel(self, shop_id: str, actor: str) -> dict[str, Any]:
        backfill = await self._require_active(shop_id)
        back = await self.history.cancel(backfill.id)
        backfill = await self.store.backfills.update(backfill.id, state="cancelled")
        await self.store.audit.append(
            actor, "backfill.cancel", shop_id=shop_id, target=f"backfill:{backfill.id}", detail={"held_again": back}
        )
        return await self._view(backfill)

    async def _set_paused(self, shop_id: str, actor: str, paused: bool) -> dict[str, Any]:
        backfill = await self._require_active(shop_id)
        await self.history.set_paused(backfill.id, paused)
        action = "backfill.pause" if paused else "backfill.resume"
        await self.store.audit.append(actor, action, shop_id=shop_id, target=f"backfill:{backfill.id}")
        self.daemon.wake(shop_id)
        return await self._view(backfill)

    # -- the loop ---------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Book the days of daily backfills and close backfills with nothing left; one pass per tick when idle."""
        while True:
            worked = False
            for backfill in [b for b in await self.store.backfills.list() if b.state == "running"]:
                if await self.history.is_paused(backfill.id):
                    continue
                worked |= await self._step(backfill)
            await asyncio.sleep(0 if worked else TICK)

    async def _step(self, backfill: Backfill) -> bool:
        """One register-day booked (True), or the backfill found finished, or nothing to do now."""
        left = await self.history.remaining(backfill.id)
        if not left:
            done = await self.store.backfills.update(backfill.id, state="done")
            log.info("backfill.done", shop=backfill.shop_id, backfill=backfill.id, total=done.total_events)
            return False
        lane = self.daemon.lanes.get(backfill.shop_id)
        if str(DAILY) not in left or lane is None or not lane.runnable:
            return False
        if await self.history.open_references(backfill.shop_id):
            return False  # the shop's journals, accounts and register names first (the dispatcher carries them)
        rows = await self.history.next_day(backfill.id)
        for register_rows in _by_register(rows).values():
            await self._book_register_day(lane, register_rows)
        return bool(rows)

    async def _book_register_day(self, lane: Lane, rows: list[Delivery]) -> None:
        deliverer = self.daemon.deliverer
        bound = log.bind(shop=lane.shop_id, day=rows[0].business_date, events=len(rows))
        try:
            events = [parse_event(event_row(row)) for row in rows]
            booking = book_day(events, lane.mapping())
            await deliverer.prepare(lane, booking)
            for entry in booking.entries:  # every id first: a BookingError must come before any POST
                for line in entry.lines:
                    await lane.resolver.account(line.account)
            for entry in booking.entries:
                await deliverer.post_once(lane, rows[0], entry, bound)
            for event in events:
                if isinstance(event.payload, OrderRecorded):
                    order = book(event, lane.mapping())
                    if order.entries:
                        await lane.resolver.remember_order(
                            event.payload.order_id, await deliverer.customer_account_id(lane, order)
                        )
        except (ContractError, BookingError, PermanentError) as exc:
            moved = await self.history.to_detailed(row.id for row in rows)
            bound.warning("backfill.day_to_detailed", reason=str(exc), moved=moved)
            self.daemon.wake(lane.shop_id)
            return
        except (AuthError, PennylaneError) as exc:  # retryable, rate limited, unknown outcome: the day is tried again
            bound.warning("backfill.day_retry", reason=str(exc))
            await asyncio.sleep(TICK)
            return
        await self.history.deliver_day(row.id for row in rows)
        for _ in rows:
            lane.delivered()
        bound.info("backfill.day_booked", entries=len(booking.entries))

    # -- helpers ----------------------------------------------------------------------------------------------

    async def _lane(self, shop_id: str) -> Lane:
        if shop_id not in self.daemon.lanes and await self.store.shops.get(shop_id) is None:
            raise NotFound(f"no shop {shop_id}")
        return await self.daemon.lane(shop_id)

    async def _fiscal_years(self, lane: Lane) -> tuple[list[FiscalYear], str | None]:
        if lane.client is None or not lane.connected:
            return [], f"shop {lane.shop_id} is not connected to Pennylane: connect it first"
        try:
            return await lane.client.fiscal_years(), None
        except PennylaneError as exc:
            return [], f"cannot read the fiscal years from Pennylane: {exc}"

    async def _active(self, shop_id: str) -> Backfill | None:
        return next((b for b in await self.store.backfills.list(shop_id) if b.state in ("planned", "running")), None)

    async def _require_active(self, shop_id: str) -> Backfill:
        active = await self._active(shop_id)
        if active is None:
            raise NotFound(f"shop {shop_id} has no running backfill")
        return active

    async def _view(self, backfill: Backfill) -> dict[str, Any]:
        """The control API's Backfill shape; ``done`` counts every event settled (delivered, skipped or failed)."""
        open_rows = sum((await self.history.remaining(backfill.id)).values())
        total = backfill.total_events or 0
        done = total - open_rows
        now = time.monotonic()
        samples = self._samples[backfill.id]
        samples.append((now, done))
        while len(samples) > 2 and samples[0][0] < now - RATE_SPAN:
            samples.popleft()
        first_at, first_done = samples[0]
        rate = (done - first_done) / (now - first_at) if now - first_at > 0.5 else 0.0
        if rate <= 0 and backfill.started_at is not None and done:
            elapsed = (dt.datetime.now(dt.UTC) - backfill.started_at).total_seconds()
            rate = done / elapsed if elapsed > 0 else 0.0
        state: str = backfill.state
        if state == "running" and await self.history.is_paused(backfill.id):
            state = "paused"
        left = total - done
        return {
            "id": backfill.id,
            "shop_id": backfill.shop_id,
            "start_date": backfill.start_date,
            "mode": backfill.mode,
            "state": state,
            "total": total,
            "done": done,
            "rate": round(rate, 2),
            "eta": round(left / rate, 1) if rate > 0 and state == "running" else (0.0 if left == 0 else None),
            "started_at": _unix(backfill.started_at),
            "finished_at": _unix(backfill.finished_at),
        }

    def _requests_per_second(self) -> float:
        limit = self.daemon.config.pennylane.rate_limit
        return limit.requests / limit.per_seconds

    @staticmethod
    def _today() -> dt.date:
        return dt.date.today()


def _by_register(rows: list[Delivery]) -> dict[str, list[Delivery]]:
    groups: dict[str, list[Delivery]] = {}
    for row in rows:
        register = _register_of(row)
        groups.setdefault(register, []).append(row)
    return groups


def _register_of(row: Delivery) -> str:
    try:
        return str(json.loads(row.payload).get("register_id", ""))
    except (ValueError, AttributeError):
        return ""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise BadRequest(f"start date {text!r} is not a date YYYY-MM-DD") from None


def _default_start(years: list[FiscalYear], today: dt.date) -> dt.date:
    """The start of the open fiscal year containing today (seed section 4), else 1 January of this year."""
    for year in years:
        if year.start <= today <= year.finish and year.status in OPEN_YEAR:
            return year.start
    return dt.date(today.year, 1, 1)


def _refusal(years: list[FiscalYear], start: dt.date) -> str | None:
    """Why Pennylane would refuse entries from ``start`` on, or None."""
    if start > dt.date.today():
        return f"start date {start.isoformat()} is in the future"
    for year in years:
        if year.status not in OPEN_YEAR and year.finish >= start:
            return (
                f"the fiscal year {year.start.isoformat()} to {year.finish.isoformat()} is {year.status} in Pennylane:"
                f" no entry can be booked there; choose a start date after {year.finish.isoformat()}"
            )
    if years and not any(y.start <= start <= y.finish for y in years):
        return f"no fiscal year in Pennylane covers {start.isoformat()}: create it in Pennylane first"
    return None


def _unix(moment: dt.datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()
