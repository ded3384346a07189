"""Live daily booking: a shop booking ``daily`` gets one entry per register and business day, at the day's closing.

Ingestion holds the orders, payments and closing of each live register-day decided daily (store/register_days.py);
once the register's closing for that date is in, this loop books them with the daily backfill's machinery
(``DayBooker.book_register_day``: ``book_day``, customers looked up together and resolved ahead, each entry
recorded under its piece number before its POST and looked up after an unknown outcome). A register-day that
cannot be booked as one entry goes to the dispatcher event by event for good; events that come once its entry is
fixed are booked on their own, live. One worker per shop, so one shop's retries never hold up another's.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Mapping

import structlog

from outboxd.config import ShopConfig
from outboxd.contract import RegisterClosed, parse_event
from outboxd.daemon.daybook import DayBooker
from outboxd.daemon.lanes import Lanes
from outboxd.delivery.deliver import event_row
from outboxd.delivery.zreport import warn_z_mismatch
from outboxd.exceptions import ContractError
from outboxd.store import Delivery, Store
from outboxd.store.booking import BookingModes
from outboxd.store.history import History

__all__ = ["LiveDays", "write_initial_modes"]

log = structlog.get_logger("outboxd.daily")

TICK = 0.5
"""Seconds between two looks for register-days whose closing came in."""


async def write_initial_modes(booking: BookingModes, shops: Mapping[str, ShopConfig]) -> None:
    """Each configured shop's ``booking``, written once (the state database holds every later switch)."""
    for shop_id, shop in shops.items():
        if await booking.write_initial(shop_id, "daily" if shop.booking == "daily" else "detailed"):
            log.info("booking.initial_mode", shop=shop_id, mode=shop.booking)


class LiveDays:
    """Books the live register-days of shops in daily mode once their closing is ingested."""

    def __init__(
        self,
        store: Store,
        lanes: Lanes,
        days: DayBooker,
        owns: Callable[[str], bool],
        sending_for: Callable[[str], contextvars.Context],
    ) -> None:
        self.store = store
        self.register_days = store.register_days
        self.history = History(store.db, store.clock)
        self.lanes = lanes
        self.days = days
        self.owns = owns
        self.sending_for = sending_for
        """The context of a shop's worker: its requests leave only while this replica holds the shop's lane."""

    async def run(self) -> None:
        """A pass per tick: each shop with closed register-days waiting gets a worker, which books them in order."""
        workers: dict[str, asyncio.Task[None]] = {}
        try:
            while True:
                if await self.register_days.release_strays():
                    self.lanes.wake()
                ready: dict[str, list[tuple[str, str]]] = {}
                for shop_id, day, register_id in await self.register_days.ready_days():
                    ready.setdefault(shop_id, []).append((day, register_id))
                for shop_id, days in ready.items():
                    worker = workers.get(shop_id)
                    if worker is not None and worker.done():
                        del workers[shop_id]
                        worker.result()  # a worker that died takes this watched task, and so the daemon, down
                    if shop_id not in workers and self.owns(shop_id):
                        workers[shop_id] = asyncio.create_task(
                            self._book(shop_id, days), name=f"daily-{shop_id}", context=self.sending_for(shop_id)
                        )
                await asyncio.sleep(TICK)
        finally:
            for worker in workers.values():
                worker.cancel()
            await asyncio.gather(*workers.values(), return_exceptions=True)

    async def _book(self, shop_id: str, days: list[tuple[str, str]]) -> None:
        """Book a shop's closed register-days in date order, while its lane may deliver (connected, not paused)."""
        lane = self.lanes.get(shop_id)
        for day, register_id in days:
            if lane is None or not lane.runnable or await self.history.open_references(shop_id):
                return  # the shop's journals, accounts and register names first (the dispatcher carries them)
            rows = await self.register_days.day_rows(shop_id, day, register_id)
            settled = not rows or await self.days.book_register_day(lane, rows, self.register_days)
            self.lanes.wake(shop_id)  # the day's late events, if any, are live now
            if not settled:
                return  # a payment books on its order's account: later days wait until this one is in
            for row in rows:
                if row.event_type == "register.closed":
                    await self._z_control(shop_id, row)

    async def _z_control(self, shop_id: str, row: Delivery) -> None:
        """The Z against what was booked for its register and day, as a detailed closing's delivery does (a day
        handed to the dispatcher is still open: not conclusive, nothing said here)."""
        try:
            closing = parse_event(event_row(row)).payload
        except ContractError:
            return  # the day went event by event: the closing is in the failed queue with its reason
        if isinstance(closing, RegisterClosed):
            report = await warn_z_mismatch(self.store, shop_id, closing, log.bind(shop=shop_id))
            if report.mismatch:
                self.days.deliverer.metrics.inc("outboxd_z_mismatches_total", shop=shop_id)
