"""Backfills: a shop's history held until an operator picks a start date and a mode, then sent beside live traffic.

- The hold: at a shop's first connection, what waits in its queue becomes history (``History.first_connection``);
  the dispatcher never claims it (priority 2). ``gate`` records that first connection before the first claim.
- ``start``: history before the start date is skipped with the reason; from it on, detailed mode hands the rows
  to the dispatcher at backfill priority (live first); daily mode books each closed register-day not yet touched
  as one entry (``DayBooker``, one worker per running backfill) and hands the rest to the dispatcher.
- State lives in the store (priorities, the backfill row): a restart resumes where it stopped; piece_numbers
  and ``sent_entries`` make a second run or an overlap with live delivery post nothing twice.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import math
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from typing import Protocol

import structlog

from outboxd.config import RateLimit, ShopConfig
from outboxd.contract import parse_event
from outboxd.control.shapes import Backfill as BackfillShape
from outboxd.control.shapes import BackfillEstimate, ModeEstimate
from outboxd.daemon.daybook import DayBooker
from outboxd.daemon.lanes import Lanes
from outboxd.delivery.deliver import Deliverer, event_row
from outboxd.delivery.lane import Lane
from outboxd.exceptions import BadRequest, BookingError, ContractError, NotFound, PennylaneError
from outboxd.pennylane import FiscalYear
from outboxd.rules import LedgerAccount, book, customer_reference
from outboxd.store import Backfill, Store
from outboxd.store.history import History

__all__ = ["Backfiller", "OutboxPosition"]

log = structlog.get_logger("outboxd.backfill")

TICK = 0.5
"""Seconds between two looks for new backfills, and between two looks at one with no day to book now."""
LOOK_SHARE = 20
"""A look at what is left of a backfill waits this many times what the last look took (5 % of the time at most)."""
RATE_SPAN = 60.0
"""Seconds of progress samples the rate (and so the ETA) is measured over."""
OPEN_YEAR = ("open", "reopen")
PER_NEW_CUSTOMER = 2
"""Requests to make a customer known one by one: find it, create it (its 411 number is not read). Daily mode looks
the backfill's customers up together (100 per request), so it pays one create each plus a lookup per 100."""
DAY_LINES = 900
"""Events per part of a day's entry, for the estimate: a part holds 1,000 lines, a day ~1.05 line per event."""
ACCOUNT_SAMPLE = 2000
"""Events of the history the estimate books to find the ledger accounts it needs (a shop's chart shows up fast)."""
REACHED = 0.95
"""Share of the rate limit a backfill keeps in steady state (measured: bench/bench_backfill.py, docs/backfill.md)."""


class OutboxPosition(Protocol):
    """The outbox the daemon tails: the name of its ingest cursor and its last row's id."""

    name: str

    async def last_id(self) -> int: ...


class Backfiller:
    """The five control calls of docs/control-api.md and the loop that books days and notices the end."""

    def __init__(
        self,
        store: Store,
        lanes: Lanes,
        deliverer: Deliverer,
        shops: Mapping[str, ShopConfig],
        rate_limit: RateLimit,
        owns: Callable[[str], bool],
        sending_for: Callable[[str], contextvars.Context],
    ) -> None:
        self.store = store
        self.lanes = lanes
        self.owns = owns
        """Whether this process carries the shop's lane: among replicas, only its owner books a daily backfill."""
        self.sending_for = sending_for
        """The context of a shop's worker: its requests leave only while this replica holds the shop's lane."""
        self.shops = shops
        self.rate_limit = rate_limit
        self.history = History(store.db, store.clock)
        self._connected: set[str] = set()
        self._holding: dict[str, int] = {}
        """Shops whose history is still being ingested: the outbox id it goes up to (their lanes claim nothing)."""
        self._outbox: OutboxPosition | None = None
        self._samples: defaultdict[int, deque[tuple[float, int]]] = defaultdict(lambda: deque(maxlen=240))
        self.days = DayBooker(self.history, lanes, deliverer)

    # -- the hold ---------------------------------------------------------------------------------------------

    async def open(self, outbox: OutboxPosition) -> None:
        """At start, before the outbox is tailed: shops connected now have been connected since now at the latest,
        so everything the outbox holds for them is their history."""
        self._outbox = outbox
        self._connected = await self.history.connected_shops()
        self._holding = await self.history.holds()
        for lane in self.lanes.values():
            await self.gate(lane)

    async def connected(self, shop_id: str) -> None:
        """The shop is connected (a connect just completed, or found so): the first time, everything of it in the
        outbox at this moment becomes history, by outbox position (ids up to the outbox's last), ingested yet or
        not; rows after it are live."""
        if shop_id in self._connected:
            return
        assert self._outbox is not None, "Backfiller.open first"
        shop = self.shops.get(shop_id)
        hold = shop.backfill.offer_on_connect if shop is not None else True
        through = await self.history.first_connection(shop_id, hold=hold, through=await self._outbox.last_id())
        self._connected.add(shop_id)
        if through is not None:
            self._holding[shop_id] = through
        log.info("backfill.first_connection", shop=shop_id, history_through=through)

    async def gate(self, lane: Lane) -> bool:
        """Before a claim: whether the lane may claim now. Not while the history of its first connection is still
        being ingested: once ingestion has passed it, those rows are held and the lane claims."""
        if not lane.connected:
            return True
        shop_id = lane.shop_id
        await self.connected(shop_id)
        through = self._holding.get(shop_id)
        if through is None:
            return True
        assert self._outbox is not None
        if await self.store.deliveries.cursor(self._outbox.name) < through:
            return False
        held = await self.history.hold_history(shop_id, through)
        del self._holding[shop_id]
        log.info("backfill.history_held", shop=shop_id, held=held, through=through)
        return True

    # -- control calls ----------------------------------------------------------------------------------------

    async def estimate(self, shop_id: str, start_date: str | None) -> BackfillEstimate:
        """Requests and seconds for both modes: one POST per event (detailed) or per register-day and 1,000 lines
        (daily), plus the customers not yet known: ``PER_NEW_CUSTOMER`` each in detailed mode; in daily mode one
        create each (only those a ticket leaves owing at its day's end, with customers = "on_account") and one
        lookup per 100 of them; one lettering per ticket its payments in the history settle (in daily mode only
        those left owing at their day's end, unless customers = "all"); the accounts the history books on that the
        chart lacks. Seconds at ``REACHED`` of the rate limit (docs/backfill.md compares this with measured runs)."""
        lane = await self._lane(shop_id)
        years, refused = await self._fiscal_years(lane)
        default = _default_start(years, self._today())
        start = _date(start_date) if start_date else default
        refused = refused or _refusal(years, start)
        every = await self.history.register_days(shop_id, start)
        days = [(day, reg, n) for day, reg, n in every if day is not None]
        busy = await self.history.busy_register_days(shop_id, start)
        mapping = lane.mapping()
        tickets = await self.history.tickets(shop_id, start, customer_reference(shop_id))
        customers = tickets.new_customers
        daily_customers = customers if mapping.customers == "all" else tickets.new_owing_customers
        letterings = tickets.settled if mapping.lettering else 0
        settled_later = tickets.settled_later if mapping.lettering else 0  # what a day's entry leaves to letter
        daily_letterings = letterings if mapping.customers == "all" else settled_later
        accounts = await self._new_accounts(lane, start)
        today = self._today().isoformat()
        detailed = sum(n for *_, n in days)
        daily = sum(n if day >= today or (day, reg) in busy else math.ceil(n / DAY_LINES) for day, reg, n in days)
        per_second = self._requests_per_second() * REACHED
        lookups = math.ceil(daily_customers / 100)  # all of them at once, 100 per request
        modes: dict[str, ModeEstimate] = {}
        for mode, requests in (
            ("detailed", detailed + PER_NEW_CUSTOMER * customers + accounts + letterings),
            ("daily", daily + daily_customers + lookups + accounts + daily_letterings),
        ):
            modes[mode] = {"requests": requests, "seconds": round(requests / per_second)}
        return {
            "start_date": start.isoformat(),
            "default_start_date": default.isoformat(),
            "events": sum(n for *_, n in every),
            "new_customers": customers,
            "modes": modes,
            "refused": refused,
        }

    async def _new_accounts(self, lane: Lane, start: dt.date) -> int:
        """Requests to create the ledger accounts the history books on that the shop's chart lacks (created on
        first use, whatever the mode): those of its first ``ACCOUNT_SAMPLE`` events, plus one lookup of them."""
        mapping, known = lane.mapping(), await self.store.caches.ledger_accounts(lane.shop_id)
        used: set[str] = set()
        for row in await self.history.sample(lane.shop_id, start, ACCOUNT_SAMPLE):
            try:
                booking = book(parse_event(event_row(row)), mapping)
            except (ContractError, BookingError):
                continue  # such an event fails on its own when it is delivered
            used |= {ln.account.number for e in booking.entries for ln in e.lines if type(ln.account) is LedgerAccount}
        new = len(used - known.keys())
        return new + 1 if new else 0

    async def start(self, shop_id: str, actor: str, start_date: str, mode: str) -> BackfillShape:
        if mode not in ("detailed", "daily"):
            raise BadRequest(f"mode must be 'detailed' or 'daily', not {mode!r}")
        start = _date(start_date)
        lane = await self._lane(shop_id)
        years, refused = await self._fiscal_years(lane)
        refused = refused or _refusal(years, start)
        if refused:
            raise BadRequest(refused)
        if not await self.gate(lane):
            raise BadRequest(
                f"the history of shop {shop_id} is still being read from the outbox (up to row"
                f" {self._holding[shop_id]}): start the backfill once it is all read"
            )
        if (active := await self._active(shop_id)) is not None:
            raise BadRequest(
                f"backfill {active.id} of shop {shop_id} is still {active.state}: pause or cancel it first"
            )
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
        self.lanes.wake(shop_id)
        return await self._view(backfill)

    async def get(self, shop_id: str) -> BackfillShape | None:
        backfills = await self.store.backfills.list(shop_id)
        return await self._view(backfills[0]) if backfills else None

    async def pause(self, shop_id: str, actor: str) -> BackfillShape:
        return await self._set_paused(shop_id, actor, True)

    async def resume(self, shop_id: str, actor: str) -> BackfillShape:
        return await self._set_paused(shop_id, actor, False)

    async def cancel(self, shop_id: str, actor: str) -> BackfillShape:
        backfill = await self._require_active(shop_id)
        back = await self.history.cancel(backfill.id)
        backfill = await self.store.backfills.update(backfill.id, state="cancelled")
        await self.store.audit.append(
            actor, "backfill.cancel", shop_id=shop_id, target=f"backfill:{backfill.id}", detail={"held_again": back}
        )
        return await self._view(backfill)

    async def _set_paused(self, shop_id: str, actor: str, paused: bool) -> BackfillShape:
        backfill = await self._require_active(shop_id)
        await self.history.set_paused(backfill.id, paused)
        action = "backfill.pause" if paused else "backfill.resume"
        await self.store.audit.append(actor, action, shop_id=shop_id, target=f"backfill:{backfill.id}")
        self.lanes.wake(shop_id)
        return await self._view(backfill)

    # -- the loop ---------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """One worker per running backfill (a busy shop never holds up another's); a pass per tick finds new ones."""
        workers: dict[int, asyncio.Task[None]] = {}
        try:
            while True:
                for backfill in await self.store.backfills.list():
                    worker = workers.get(backfill.id)
                    if worker is not None and worker.done():
                        del workers[backfill.id]
                        worker.result()  # a worker that died takes this watched task, and so the daemon, down
                    if backfill.state == "running" and backfill.id not in workers:
                        workers[backfill.id] = asyncio.create_task(
                            self._work(backfill.id), name=f"backfill-{backfill.id}",
                            context=self.sending_for(backfill.shop_id),
                        )
                await asyncio.sleep(TICK)
        finally:
            for worker in workers.values():
                worker.cancel()
            await asyncio.gather(*workers.values(), return_exceptions=True)
            await self.days.close()

    async def _work(self, backfill_id: int) -> None:
        """Book a daily backfill's days back to back; mark any backfill done once nothing of it is open.

        Counting what is open reads every row of the backfill (a year: ~0.15 s), so the look is spaced out to
        keep it under ``1 / LOOK_SHARE`` of the time."""
        pause = TICK
        while (backfill := await self.store.backfills.get(backfill_id)) is not None and backfill.state == "running":
            if not await self.history.is_paused(backfill_id):
                if backfill.mode == "daily" and await self._book_day(backfill):
                    continue
                began = time.monotonic()
                if not await self.history.remaining(backfill_id):
                    done = await self.store.backfills.update(backfill_id, state="done")
                    log.info("backfill.done", shop=backfill.shop_id, backfill=backfill_id, total=done.total_events)
                    return
                pause = max(TICK, LOOK_SHARE * (time.monotonic() - began))
            await asyncio.sleep(pause)

    async def _book_day(self, backfill: Backfill) -> bool:
        """The next register-days booked (True), or none now: none left, the lane down or another replica's,
        references still open."""
        lane = self.lanes.get(backfill.shop_id)
        if lane is None or not lane.runnable or not self.owns(backfill.shop_id):
            return False
        if await self.history.open_references(backfill.shop_id):
            return False  # the shop's journals, accounts and register names first (the dispatcher carries them)
        return await self.days.book_next(lane, backfill.id)

    # -- helpers ----------------------------------------------------------------------------------------------

    async def _lane(self, shop_id: str) -> Lane:
        if shop_id not in self.lanes and await self.store.shops.get(shop_id) is None:
            raise NotFound(f"no shop {shop_id}")
        return await self.lanes.lane(shop_id)

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

    async def _view(self, backfill: Backfill) -> BackfillShape:
        """The control API's Backfill shape; ``done`` counts every event settled (delivered, skipped or failed)."""
        total = backfill.total_events or 0
        if backfill.state == "cancelled":  # what it had not sent went back to history: not done
            done = await self.history.settled(backfill.id)
        else:
            done = total - sum((await self.history.remaining(backfill.id)).values())
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
        return self.rate_limit.requests / self.rate_limit.per_seconds

    @staticmethod
    def _today() -> dt.date:
        return dt.date.today()


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
