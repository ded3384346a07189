"""The shops' lanes of one daemon: found or made on first sight, restored from the state database, woken.

A lane is made the first time its shop is seen (configured, in the outbox, connected, or taken over from
another replica) and then restored: the pause and the latest reference snapshot the state database remembers,
and the shop's Pennylane connection (``connect``, given by the daemon: ``Clients.restore``). ``wake`` marks shops
for the dispatcher's next pass. Replicas on PostgreSQL (``follow``) restore a shop they take over and follow a
pause or resume made through another replica's control socket, and a shop's connection changed through any replica
(at once, told by the database; at each heartbeat too, for a notification lost).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping

import structlog

from outboxd.config import Config
from outboxd.contract import ReferenceUpdated, parse_payload
from outboxd.delivery.lane import Lane
from outboxd.store import LaneOwnership, ShopPause, Store

__all__ = ["Lanes"]

log = structlog.get_logger("outboxd.daemon")


class Lanes(Mapping[str, Lane]):
    """Every lane of one daemon, by shop id; the dispatcher's wake flag and the shops it is due to look at."""

    def __init__(self, config: Config, store: Store, connect: Callable[[Lane], Awaitable[None]]) -> None:
        self._config = config
        self._store = store
        self._connect = connect
        self._lanes: dict[str, Lane] = {}
        self._wake = asyncio.Event()
        self._due: set[str] = set()
        self._swept_at = 0.0
        """The event loop's time when every shop was last made due."""
        self._pause_versions: dict[str, str] = {}
        """Replicas: the version of each shop's row whose pause this replica's lane follows."""
        self._connection_versions: dict[str, str | None] = {}
        """Replicas: the version of each owned shop's stored connection this replica's lane has taken."""
        self._taken: set[str] = set()
        """Replicas: the owned shops restored since this replica took them; only those are carried (a shop taken
        over is claimed only once what its previous owner saved, its reference snapshots above all, is restored)."""

    def __getitem__(self, shop_id: str) -> Lane:
        return self._lanes[shop_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._lanes)

    def __len__(self) -> int:
        return len(self._lanes)

    async def lane(self, shop_id: str) -> Lane:
        """The lane of ``shop_id``, made, restored and connected (when it can be) on first sight."""
        lane = self._lanes.get(shop_id)
        if lane is None:
            mapping = self._config.shop_mapping(shop_id)
            lane = Lane(shop_id, mapping, concurrency=self._config.daemon.concurrency_per_shop)
            self._lanes[shop_id] = lane
            await self._restore(lane)
            await self._connect(lane)
        return lane

    async def _restore(self, lane: Lane) -> None:
        """What the state database remembers of a shop across restarts: its pause and its reference snapshots (every
        one delivered, by outbox position, then the latest)."""
        shop = await self._store.shops.get(lane.shop_id)
        if shop is not None and shop.paused:
            lane.paused, lane.pause_reason = True, shop.pause_reason or ""
        latest = await self._store.shops.reference(lane.shop_id)
        for text, outbox_id in [*await self._store.shops.references(lane.shop_id), *([latest] if latest else [])]:
            payload = parse_payload("reference.updated", json.loads(text))
            if isinstance(payload, ReferenceUpdated):
                lane.set_reference(payload, outbox_id)

    # -- waking the dispatcher --------------------------------------------------------------------------------

    def wake(self, shop_id: str | None = None) -> None:
        """Ask the dispatcher for a pass: over one shop, or over every shop (new rows, a retry, a resume)."""
        self._due.update(self._lanes if shop_id is None else (shop_id,))
        self._wake.set()

    def due(self) -> set[str]:
        """The shops woken since the last call; a wake from now on asks for another pass."""
        self._wake.clear()
        due, self._due = self._due, set()
        return due

    async def wait(self, idle: float) -> None:
        """Until a wake; every ``idle`` seconds every shop is due (retries fall due on this tick), wakes or not: a
        stream of wakes from busy shops never keeps a quiet shop's retry waiting."""
        loop = asyncio.get_running_loop()
        left = self._swept_at + idle - loop.time()
        if left > 0:
            try:
                async with asyncio.timeout(left):
                    await self._wake.wait()
                return
            except TimeoutError:
                pass
        self._due.update(self._lanes)
        self._swept_at = loop.time()

    # -- replicas on PostgreSQL -------------------------------------------------------------------------------

    async def follow(self, ownership: LaneOwnership, shops: Iterable[str]) -> None:
        """Renew this replica's shop leases for ever (``shops``: the configured ones); a shop just taken is restored
        and gets a dispatch pass; every lane follows its shop's pause when another replica changed it, and an owned
        shop's connection when any replica changed it (at once between two heartbeats, when the database says so)."""
        while True:
            owned = await ownership.renew(shops)
            self._taken &= owned
            for shop_id in sorted(owned - self._taken):  # what the previous owner saved: reference, pause, connection
                lane = await self.lane(shop_id)
                await self._restore(lane)
                await self._connect(lane)  # a connected lane keeps its client, with tokens no older than the stored
                self._taken.add(shop_id)
                self.wake(shop_id)
            await self._follow_connections(owned)
            self._follow_pauses(ownership.shop_pauses)
            while ownership.interval > 0:
                for shop_id, version in (await ownership.connection_changes()).items():
                    if shop_id in self._taken:
                        await self._follow_connection(shop_id, version)

    def taken(self, shop_id: str) -> bool:
        """Replicas: whether this replica has restored the shop since it took it (``follow``)."""
        return shop_id in self._taken

    async def _follow_connections(self, owned: frozenset[str]) -> None:
        """At a heartbeat, every owned shop's stored connection by its version: one whose change was not told
        (``connection_changes``: a notification lost while the heartbeats' connection was down) is followed now."""
        versions = await self._store.connections.versions()
        for shop_id in sorted(owned):
            await self._follow_connection(shop_id, versions.get(shop_id))

    async def _follow_connection(self, shop_id: str, version: str | None) -> None:
        """A connect, reconnect or disconnect made through another replica's control socket, or a pair another one
        rotated, seen as a new version of the shop's stored connection: the owner's lane takes it (its client kept,
        tokens swapped when newer). A shop's first version is only noted (its lane was restored when taken)."""
        if shop_id in self._connection_versions and self._connection_versions[shop_id] != version:
            await self._connect(await self.lane(shop_id))
            self.wake(shop_id)
        self._connection_versions[shop_id] = version

    def _follow_pauses(self, pauses: Mapping[str, ShopPause]) -> None:
        """A pause or resume made through another replica's control socket, seen as a new version of the shop's
        row (a row read before a pause made here keeps its old version, so it never undoes that pause)."""
        for shop_id, pause in pauses.items():
            lane = self._lanes.get(shop_id)
            if lane is None or self._pause_versions.get(shop_id) == pause.version:
                continue
            self._pause_versions[shop_id] = pause.version
            if (lane.paused, lane.pause_reason) != (pause.paused, pause.reason):
                lane.paused, lane.pause_reason = pause.paused, pause.reason
                log.info("shop.pause_followed", shop=shop_id, paused=pause.paused)
                self.wake(shop_id)
