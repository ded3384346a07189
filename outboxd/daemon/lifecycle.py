"""The daemon's lifecycle, top to bottom: open, start the loops, serve, drain, close.

    run()
      open the state database, the outbox, one HTTP session
      build one lane per shop (configured, seen in the outbox, or connected)
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
import datetime as dt
import json
import os
import socket
from collections.abc import Callable, Coroutine, Mapping
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import structlog
from aiohttp import web

from outboxd.config import Config
from outboxd.contract import ReferenceUpdated, parse_payload
from outboxd.daemon.backfill import Backfiller
from outboxd.daemon.connections import Connections
from outboxd.delivery.deliver import Backoff, Deliverer
from outboxd.delivery.lane import Lane
from outboxd.exceptions import StoreError
from outboxd.log import Redactor
from outboxd.metrics import Metrics
from outboxd.secrets import TokenCipher, read_secret
from outboxd.store import OutboxSource, Store, hold_state_lock, open_store
from outboxd.store.pg import PgOutboxSource
from outboxd.store.pg.lanes import LaneOwnership, ShopPause
from outboxd.store.pg.store import PgStore
from outboxd.systemd import Notifier, Watchdog

__all__ = ["Daemon"]

log = structlog.get_logger("outboxd.daemon")

IDLE_TICK = 1.0
"""Seconds between two dispatch passes when nothing wakes the dispatcher: retries fall due on this tick."""

STATUS_EVERY = 2.0
"""Seconds between two ``STATUS=`` lines to systemd (queue depth, failed, lag)."""


class Daemon:
    """One outboxd process. ``control_factory`` builds the control API backend (see outboxd.daemon.operations)."""

    def __init__(
        self,
        config: Config,
        *,
        notifier: Notifier | None = None,
        owner: str | None = None,
        control_factory: Callable[[Daemon], Any] | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.config = config
        self.notifier = notifier or Notifier.from_env()
        self.watchdog = Watchdog(self.notifier)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.metrics = Metrics()
        self.lanes: dict[str, Lane] = {}
        self.started_at = dt.datetime.now(dt.UTC)
        self.ready = asyncio.Event()
        self.draining = False
        self._control_factory = control_factory
        self.redactor = redactor or Redactor()
        self._stop = asyncio.Event()
        self._force = asyncio.Event()
        self._wake = asyncio.Event()
        self._dirty: set[str] = set()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._pause_versions: dict[str, str] = {}
        """Replicas: the version of each shop's row whose pause this replica's lane follows."""
        self.store: Store
        self.session: aiohttp.ClientSession
        self.connections: Connections
        self.deliverer: Deliverer
        self.backfills: Backfiller
        self.ownership: LaneOwnership | None = None
        """PostgreSQL state: the shops whose lane this replica owns (None: SQLite, one daemon owns all)."""

    # -- public -----------------------------------------------------------------------------------------------

    def stop(self, *, force: bool = False) -> None:
        self._stop.set()
        if force:
            self._force.set()

    def wake(self, shop_id: str | None = None) -> None:
        """Ask the dispatcher for a pass: over one shop, or over every shop (new rows, a retry, a resume)."""
        self._dirty.update(self.lanes if shop_id is None else (shop_id,))
        self._wake.set()

    async def lane(self, shop_id: str) -> Lane:
        """The lane of ``shop_id``, created (and connected when it can be) on first sight."""
        lane = self.lanes.get(shop_id)
        if lane is None:
            mapping = self.config.shop_mapping(shop_id)
            lane = Lane(shop_id, mapping, concurrency=self.config.daemon.concurrency_per_shop)
            self.lanes[shop_id] = lane
            await self._restore(lane)
            await self.connections.restore(lane)
        return lane

    async def _restore(self, lane: Lane) -> None:
        """What the state database remembers of a shop across restarts: its pause and its latest reference."""
        shop = await self.store.shops.get(lane.shop_id)
        if shop is not None and shop.paused:
            lane.paused, lane.pause_reason = True, shop.pause_reason or ""
        reference = await self.store.shops.reference(lane.shop_id)
        if reference is not None:
            payload = parse_payload("reference.updated", json.loads(reference[0]))
            if isinstance(payload, ReferenceUpdated):
                lane.set_reference(payload)

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
            source: OutboxSource | PgOutboxSource = (
                PgOutboxSource(daemon.outbox_database)
                if daemon.outbox_is_postgres
                else OutboxSource(daemon.outbox_database)
            )
            await stack.enter_async_context(source)
            if not isinstance(self.store, PgStore) and (taken := await self.store.deliveries.take_back_all()):
                log.info("daemon.leases_taken_back", deliveries=taken)  # a previous process died with them
            if isinstance(self.store, PgStore):
                self.ownership = LaneOwnership(
                    self.store.pg, self.owner, dt.timedelta(seconds=daemon.lease_seconds),
                    # a shop changes hands once its deliveries here are done and its token's rate window has passed
                    handover=dt.timedelta(seconds=self.config.pennylane.rate_limit.per_seconds),
                    busy=lambda shop_id: bool(self.lanes[shop_id].in_flight) if shop_id in self.lanes else False,
                )  # fmt: skip
            self.session = await stack.enter_async_context(aiohttp.ClientSession())
            self.connections = Connections(self)
            backoff = Backoff(daemon.backoff_base, daemon.backoff_cap, daemon.max_attempts)
            self.deliverer = Deliverer(self.store, self.metrics, backoff)
            for shop_id in {*self.config.shops, *await self.store.shops.ids()}:
                await self.lane(shop_id)
            self.backfills = Backfiller(self)
            await self.backfills.open()
            runner = await self._serve(stack)
            watched = [
                asyncio.create_task(self._tail(source), name="outbox-tail"),
                asyncio.create_task(self._dispatch(), name="dispatcher"),
                asyncio.create_task(self.backfills.run(), name="backfills"),
                asyncio.create_task(self.watchdog.run(), name="watchdog"),
                asyncio.create_task(self._report_status(), name="status"),
            ]
            if self.ownership is not None:
                watched.append(asyncio.create_task(self._own_lanes(self.ownership), name="lane-ownership"))
            self.ready.set()
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

    async def _serve(self, stack: AsyncExitStack) -> web.AppRunner:
        """Control socket, metrics and the OAuth callback: one runner, one site each."""
        from outboxd.control.server import create_control_app, start_control_site

        daemon = self.config.daemon
        backend = self._control_factory(self) if self._control_factory else None
        app = create_control_app(backend) if backend is not None else web.Application()
        app.router.add_get("/metrics", self._metrics_page)
        app.router.add_get(daemon.callback_path, self.connections.callback_page)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await start_control_site(runner, daemon.control_socket, daemon.control_socket_mode)
        if daemon.metrics_listen:
            host, _, port = daemon.metrics_listen.rpartition(":")
            await web.TCPSite(runner, host, int(port)).start()
        await web.TCPSite(runner, daemon.callback_host, daemon.callback_port).start()
        return runner

    async def _shutdown(self, watched: list[asyncio.Task[Any]], stopper: asyncio.Task[Any]) -> None:
        self.draining = True
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

    async def _tail(self, source: OutboxSource | PgOutboxSource) -> None:
        """Notice new outbox rows within one poll interval; ``PRAGMA data_version`` makes an idle check cheap."""
        interval = self.config.daemon.poll_interval
        first = True
        while True:
            self.watchdog.progress()
            if first or await source.changed():
                first = False
                while added := await self.store.deliveries.ingest_from(source):
                    log.debug("outbox.ingested", rows=added)
                    for shop_id in await self.store.shops.ids():
                        await self.lane(shop_id)
                    self.wake()
            await asyncio.sleep(interval)

    async def _dispatch(self) -> None:
        """Claim due heads for every lane with free slots (one claim per pass) and run each delivery as a task.

        The wake flag is cleared before the pass: a delivery finishing during the pass wakes the next one at once.
        """
        while True:
            self.watchdog.progress()
            self._wake.clear()
            shops, self._dirty = self._dirty, set()
            free: dict[str, int] = {}
            for shop_id in sorted(shops):
                if self.ownership is not None and not self.ownership.owns(shop_id):
                    continue  # another replica's lane
                lane = self.lanes[shop_id]
                await self.backfills.gate(lane)
                if lane.free:
                    free[shop_id] = lane.free
            if free:
                for delivery in await self.store.deliveries.claim_heads(free):
                    self._start(self.lanes[delivery.shop_id], delivery)
            try:
                async with asyncio.timeout(IDLE_TICK):
                    await self._wake.wait()
            except TimeoutError:
                self._dirty.update(self.lanes)

    async def _own_lanes(self, ownership: LaneOwnership) -> None:
        """Replicas on PostgreSQL: renew this replica's shop leases; a shop just taken gets a dispatch pass; every
        lane follows its shop's pause when another replica changed it (made through that replica's socket)."""
        while True:
            before = ownership.owned()
            owned = await ownership.renew(self.config.shops)
            for shop_id in sorted(owned - before):  # what the previous owner saved: reference, pause, connection
                lane = await self.lane(shop_id)
                await self._restore(lane)
                if not lane.connected:  # a connected lane keeps its client: a second one would have its own limiter
                    await self.connections.restore(lane)
                self.wake(shop_id)
            self._follow_pauses(ownership.shop_pauses)
            await asyncio.sleep(ownership.interval)

    def _follow_pauses(self, pauses: Mapping[str, ShopPause]) -> None:
        """Replicas: a pause or resume made through another replica's control socket, seen as a new version of the
        shop's row (a row read before a pause made here keeps its old version, so it never undoes that pause)."""
        for shop_id, pause in pauses.items():
            lane = self.lanes.get(shop_id)
            if lane is None or self._pause_versions.get(shop_id) == pause.version:
                continue
            self._pause_versions[shop_id] = pause.version
            if (lane.paused, lane.pause_reason) != (pause.paused, pause.reason):
                lane.paused, lane.pause_reason = pause.paused, pause.reason
                log.info("shop.pause_followed", shop=shop_id, paused=pause.paused)
                self.wake(shop_id)

    def _start(self, lane: Lane, delivery: Any) -> None:
        lane.in_flight.add(delivery.id)

        async def carry() -> None:
            try:
                await self.deliverer.deliver(lane, delivery)
            finally:
                lane.in_flight.discard(delivery.id)
                self._tasks.pop(delivery.id, None)
                self.wake(lane.shop_id)

        self._tasks[delivery.id] = asyncio.create_task(carry(), name=f"delivery-{delivery.id}")

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
