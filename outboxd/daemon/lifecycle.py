"""The daemon's lifecycle, top to bottom: open, start the loops, serve, drain, close.

    run()
      open the state database, the outbox, one HTTP session
      build the parts, each given what it uses: the lanes (outboxd.daemon.lanes), the shops' Pennylane clients and
      connections, the deliverer, the backfills; one lane per shop (configured, seen in the outbox, or connected)
      start: the outbox tail, the dispatcher, the control socket, metrics, the OAuth callback, the watchdog
      READY=1
      wait for a stop request (or for a background task to die: then stop too, and say why)
      STOPPING=1; stop claiming; let in-flight deliveries finish within ``shutdown_grace``;
      cancel the rest and give their leases back; close the sites and the databases

Every background task is named and watched. ``stop()`` only sets an event, so it is safe from a signal
handler and safe to call twice; ``stop(force=True)`` cuts the drain short.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import gc
import os
import socket
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import aiohttp
import structlog
from aiohttp import web

from outboxd.config import Config
from outboxd.control.backend import ControlBackend
from outboxd.daemon.backfill import Backfiller
from outboxd.daemon.clients import Clients
from outboxd.daemon.connections import Connections
from outboxd.daemon.daily import LiveDays, write_initial_modes
from outboxd.daemon.lanes import Lanes
from outboxd.daemon.listeners import CallbackListener, Listeners, metrics_app
from outboxd.delivery.deliver import Backoff, Deliverer
from outboxd.delivery.lane import Lane
from outboxd.exceptions import NotOwner, StoreError
from outboxd.log import Redactor
from outboxd.metrics import Metrics
from outboxd.outbox import OutboxReader, outbox_reader
from outboxd.pennylane import SEND_GATE
from outboxd.secrets import TokenCipher, read_secret
from outboxd.store import LaneOwnership, Store, hold_state_lock, open_store
from outboxd.store.retention import keep_pruning
from outboxd.systemd import Notifier, Watchdog

__all__ = ["Daemon", "Parts", "Process"]

log = structlog.get_logger("outboxd.daemon")

IDLE_TICK = 1.0
"""Seconds between two dispatch passes over every shop, woken or not: retries fall due on this tick."""

FEW_SHOPS = 32
"""More shops due than this (a tick makes every shop due): the state database says which have a head due now."""

STATUS_EVERY = 2.0
"""Seconds between two ``STATUS=`` lines to systemd (queue depth, failed, lag)."""


@dataclass
class Process:
    """What the control API tells of the process itself: when it started, whether it serves, whether it drains."""

    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    draining: bool = False


@dataclass(frozen=True)
class Parts:
    """What the control API's backend is built from (``outboxd.daemon.operations``): the parts of a running daemon,
    never the daemon itself."""

    config: Config
    store: Store
    lanes: Lanes
    connections: Connections
    backfills: Backfiller
    process: Process


class Daemon:
    """One outboxd process. ``control_factory`` builds the control API backend (see outboxd.daemon.operations)."""

    def __init__(
        self,
        config: Config,
        *,
        notifier: Notifier | None = None,
        owner: str | None = None,
        control_factory: Callable[[Parts], ControlBackend] | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.config = config
        self.notifier = notifier or Notifier.from_env()
        self.watchdog = Watchdog(self.notifier)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.metrics = Metrics()
        self.process = Process()
        self._control_factory = control_factory
        self.redactor = redactor or Redactor()
        self._stop = asyncio.Event()
        self._force = asyncio.Event()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self.store: Store
        self.lanes: Lanes
        self.connections: Connections
        self.deliverer: Deliverer
        self.backfills: Backfiller
        self.ownership: LaneOwnership | None = None
        """PostgreSQL state: the shops whose lane this replica owns (None: SQLite, one daemon owns all)."""

    # -- public -----------------------------------------------------------------------------------------------

    @property
    def ready(self) -> asyncio.Event:
        """Set once the daemon serves (an embedding program waits on it)."""
        return self.process.ready

    def stop(self, *, force: bool = False) -> None:
        self._stop.set()
        if force:
            self._force.set()

    # -- lifecycle --------------------------------------------------------------------------------------------

    async def run(self) -> None:
        daemon = self.config.daemon
        async with AsyncExitStack() as stack:
            cipher = TokenCipher(read_secret(self.config.secrets.token_key_file))
            if not daemon.state_database_url:
                stack.enter_context(hold_state_lock(daemon.state_database))
            self.store = await stack.enter_async_context(
                open_store(
                    daemon.state_location,
                    owner=self.owner,
                    cipher=cipher,
                    lease=dt.timedelta(seconds=daemon.lease_seconds),
                )
            )
            source = outbox_reader(daemon.outbox_database, postgres=daemon.outbox_is_postgres)
            await stack.enter_async_context(source)
            if taken := await self.store.take_back_at_start():
                log.info("daemon.leases_taken_back", deliveries=taken)  # a previous process died with them
            self.ownership = self.store.lane_ownership(
                # a shop changes hands once its deliveries here are done and its token's rate window has passed
                handover=dt.timedelta(seconds=self.config.pennylane.rate_limit.per_seconds),
                busy=lambda shop_id: bool(self.lanes[shop_id].in_flight) if shop_id in self.lanes else False,
            )
            session = await stack.enter_async_context(aiohttp.ClientSession())
            clients = Clients(self.config, self.store, session, self.redactor, self.metrics)
            self.lanes = Lanes(self.config, self.store, connect=clients.restore)
            self.connections = Connections(clients, self.lanes, self.store, self.config.redirect_uri)
            backoff = Backoff(daemon.backoff_base, daemon.backoff_cap, daemon.max_attempts)
            self.deliverer = Deliverer(self.store, self.metrics, backoff)
            for shop_id in {*self.config.shops, *await self.store.shops.ids()}:
                await self.lanes.lane(shop_id)
            self.backfills = Backfiller(
                self.store, self.lanes, self.deliverer, self.config.shops, self.config.pennylane.rate_limit,
                self._owns, self._sending_for,
            )
            await self.backfills.open(source)
            self.connections.first_seen = self.backfills.connected
            await write_initial_modes(self.store.booking, self.config.shops)
            live_days = LiveDays(self.store, self.lanes, self.backfills.days, self._owns, self._sending_for)
            runner = await self._serve(stack)
            retention = dt.timedelta(days=daemon.retention_days)
            watched = [
                asyncio.create_task(self._tail(source), name="outbox-tail"),
                asyncio.create_task(self._dispatch(), name="dispatcher"),
                asyncio.create_task(self.backfills.run(), name="backfills"),
                asyncio.create_task(live_days.run(), name="daily-booking"),
                asyncio.create_task(self.watchdog.run(), name="watchdog"),
                asyncio.create_task(self._report_status(), name="status"),
                asyncio.create_task(self.deliverer.letterer.run(self.lanes, self._owns), name="lettering"),
                asyncio.create_task(keep_pruning(self.store.retention, retention), name="retention"),
            ]
            if self.ownership is not None:
                follow = self.lanes.follow(self.ownership, self.config.shops)
                watched.append(asyncio.create_task(follow, name="lane-ownership"))
            # What start made (modules, a lane, client and resolver per shop) lives as long as the daemon: the
            # collector's full passes skip it until the daemon stops (with 10,000 shops each took 0.4-0.9 s)
            gc.freeze()
            stack.callback(gc.unfreeze)
            self.process.ready.set()
            self.notifier.ready(self._status_line())
            log.info("daemon.ready", shops=len(self.lanes), owner=self.owner)
            stopper = asyncio.create_task(self._stop.wait(), name="stop-request")
            done, _ = await asyncio.wait([stopper, *watched], return_when=asyncio.FIRST_COMPLETED)
            died: BaseException | None = None
            for task in done:
                if task is not stopper:
                    error = None if task.cancelled() else task.exception()
                    log.error("daemon.task_died", task=task.get_name(), error=repr(error), exc_info=error)
                    died = died or error
            await self._shutdown(watched, stopper)
            await runner.cleanup()
            if died is not None:  # exit non-zero (a lost database, LeaseLost...): systemd restarts the daemon
                raise died

    async def _serve(self, stack: AsyncExitStack) -> Listeners:
        """The control socket, the metrics listener and the OAuth callback listener: one application each, so no
        control route is ever reachable over TCP; the callback listens only while an authorization is pending."""
        from outboxd.control.server import create_control_app, start_control_site

        daemon = self.config.daemon
        parts = Parts(self.config, self.store, self.lanes, self.connections, self.backfills, self.process)
        backend = self._control_factory(parts) if self._control_factory else None
        callback = CallbackListener(
            daemon.callback_host, daemon.callback_port, daemon.callback_path, self.config.redirect_uri,
            self.connections.callback_page,
        )  # fmt: skip
        listeners = Listeners(callback)
        control = await listeners.runner(create_control_app(backend) if backend is not None else web.Application())
        await start_control_site(control, daemon.control_socket, daemon.control_socket_mode)
        if daemon.metrics_listen:
            host, _, port = daemon.metrics_listen.rpartition(":")
            await web.TCPSite(await listeners.runner(metrics_app(self._metrics_page)), host, int(port)).start()
        await callback.setup()
        self.connections.listener = callback
        await self.connections.follow_pending()  # an authorization started before a restart
        return listeners

    async def _shutdown(self, watched: list[asyncio.Task[Any]], stopper: asyncio.Task[Any]) -> None:
        self.process.draining = True
        self.notifier.stopping("draining in-flight deliveries")
        log.info("daemon.stopping", in_flight=len(self._tasks))
        # 1. stop claiming and tailing
        for task in [*watched, stopper]:
            task.cancel()
        await asyncio.gather(*watched, stopper, return_exceptions=True)
        # 2. let in-flight deliveries finish, within the grace period (or until a second signal)
        if self._tasks:
            forced = asyncio.create_task(self._force.wait())
            drained = asyncio.create_task(asyncio.wait(list(self._tasks.values())))
            await asyncio.wait(
                [drained, forced], timeout=self.config.daemon.shutdown_grace, return_when=asyncio.FIRST_COMPLETED
            )
            forced.cancel()
            drained.cancel()
        # 3. cancel the rest and give every lease of this process back: the cut-off deliveries (their recorded
        #    entries are looked up on the next run) and a claim the stop interrupted after it committed
        left = list(self._tasks)
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        try:
            returned = await self.store.deliveries.release()
        except StoreError as exc:  # a lost database: the leases run out by themselves
            returned = 0
            log.warning("daemon.release_failed", error=str(exc))
        if self.ownership is not None:  # the other replicas take these shops on their next heartbeat
            await self.ownership.leave()
        log.info("daemon.stopped", released=len(left), unstarted=max(0, returned - len(left)))

    # -- the two loops ----------------------------------------------------------------------------------------

    async def _tail(self, source: OutboxReader) -> None:
        """Notice new outbox rows within one poll interval; ``PRAGMA data_version`` makes an idle check cheap."""
        interval = self.config.daemon.poll_interval
        deliveries = self.store.deliveries
        first, seen = True, await deliveries.last_id()
        while True:
            self.watchdog.progress()
            if first or await source.changed():
                first = False
                while added := await deliveries.ingest_from(source):
                    log.debug("outbox.ingested", rows=added)
                    shops, seen = await deliveries.shops_after(seen)
                    for shop_id in sorted(shops):  # only the shops with new rows: thousands may be known
                        await self.lanes.lane(shop_id)
                        self.lanes.wake(shop_id)
            await asyncio.sleep(interval)

    def _owns(self, shop_id: str) -> bool:
        """This process carries the shop's lane (always, but among PostgreSQL replicas)."""
        return self.ownership is None or (self.ownership.owns(shop_id) and self.lanes.taken(shop_id))

    async def _dispatch(self) -> None:
        """Claim due heads for every lane with free slots (one claim per pass) and run each delivery as a task.

        The shops due are taken before the pass: a delivery finishing during the pass wakes the next one at once.
        """
        while True:
            self.watchdog.progress()
            free: dict[str, int] = {}
            due = self.lanes.due()
            if len(due) > FEW_SHOPS:  # a tick: only the shops with a head due now, of the thousands known
                due &= await self.store.deliveries.due_shops()
            for shop_id in sorted(due):
                if not self._owns(shop_id):
                    continue  # another replica's lane, or one this replica is still taking over
                lane = self.lanes[shop_id]
                if await self.backfills.gate(lane) and lane.free:
                    free[shop_id] = lane.free
            if free:
                for delivery in await self.store.deliveries.claim_heads(free):
                    self._start(self.lanes[delivery.shop_id], delivery)
            await self.lanes.wait(IDLE_TICK)

    def _start(self, lane: Lane, delivery: Any) -> None:
        lane.in_flight.add(delivery.id)

        async def carry() -> None:
            try:
                await self.deliverer.deliver(lane, delivery)
            finally:
                lane.in_flight.discard(delivery.id)
                self._tasks.pop(delivery.id, None)
                self.lanes.wake(lane.shop_id)

        self._tasks[delivery.id] = asyncio.create_task(
            carry(), name=f"delivery-{delivery.id}", context=self._sending_for(lane.shop_id)
        )

    def _sending_for(self, shop_id: str) -> contextvars.Context:
        """The context of a task that sends for one shop (a delivery, a register-day, a backfill): among PostgreSQL
        replicas, each of its requests leaves only while this replica still holds the shop's lane (``SEND_GATE``).
        A replica that stood still past its lease would otherwise post, once woken, what the new owner has posted
        meanwhile (its claims ran out too), beside the new owner's requests on the one token."""
        context = contextvars.copy_context()
        if self.ownership is not None:
            context.run(SEND_GATE.set, partial(self._still_owns, shop_id))
        return context

    def _still_owns(self, shop_id: str) -> None:
        if self.ownership is not None and not self.ownership.owns(shop_id):
            raise NotOwner(f"this replica no longer holds shop {shop_id}'s lane: its owner books the event")

    # -- pages ------------------------------------------------------------------------------------------------

    async def _metrics_page(self, request: web.Request) -> web.Response:
        now = dt.datetime.now(dt.UTC)
        gauges = []
        for stats in await self.store.queue.stats():
            shop = (("shop", stats.shop_id),)
            oldest = stats.oldest_pending_at
            gauges += [
                ("outboxd_queue_depth", shop, float(stats.depth)),
                ("outboxd_oldest_pending_age_seconds", shop, (now - oldest).total_seconds() if oldest else 0.0),
                ("outboxd_failed_deliveries", shop, float(stats.failed)),
            ]
        gauges.sort(key=lambda gauge: gauge[0])  # one TYPE line per name
        text = self.metrics.render(gauges)
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    def _status_line(self) -> str:
        return f"{len(self.lanes)} shops, {len(self._tasks)} in flight"

    async def _report_status(self) -> None:
        """``STATUS=`` for ``systemctl status`` every few seconds: queue depth, failed, age of the oldest pending."""
        if not self.notifier.enabled:
            await asyncio.Event().wait()
        while True:
            await asyncio.sleep(STATUS_EVERY)
            stats = await self.store.queue.stats()
            now = dt.datetime.now(dt.UTC)
            oldest = [s.oldest_pending_at for s in stats if s.oldest_pending_at is not None]
            lag = max(((now - at).total_seconds() for at in oldest), default=0.0)
            depth, failed = sum(s.depth for s in stats), sum(s.failed for s in stats)
            self.notifier.status(f"{self._status_line()}, queue {depth}, failed {failed}, lag {lag:.0f} s")


def run_until_stopped(daemon: Daemon, *, signals: bool = True) -> Coroutine[Any, Any, None]:
    """``daemon.run()`` with SIGTERM/SIGINT wired to ``daemon.stop`` (switch off in embedded uses)."""
    from outboxd.signals import on_stop_signals

    async def main() -> None:
        with on_stop_signals(daemon.stop, enabled=signals):
            await daemon.run()

    return main()
