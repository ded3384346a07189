"""Which replica owns each shop's lane: a lease row per shop, renewed by a heartbeat, spread evenly.

Only the owner claims a shop's deliveries, so one Pennylane token is driven by one process and its rate limit
holds across replicas. Each heartbeat (every ``lease / 3``), in one transaction:
1. the replica says it is alive (``replicas.seen_until``) and renews its own shop leases;
2. it counts the live replicas and takes its fair share, ``ceil(shops / live)``, from shops whose lease is free:
   given back, or run out (a killed replica's shops come free within ``lease + handover``);
3. it gives back shops above ``share + slack`` (a replica that joined gets them after ``handover``).
A lease given back or run out stays untaken for ``handover`` (the token's rate window): the last requests of the
previous owner leave Pennylane's window before the next owner's first. A shop to give back is first dropped from
:meth:`owned` (no new claims), and released at a later heartbeat (a claim begun before the drop has ended by then)
once ``busy(shop)`` says its deliveries in flight are done.
A replica trusts a lease only until ``lease - every`` after the heartbeat that renewed it: if its heartbeats
stop reaching the database, it stops claiming before anybody else may take over; :meth:`renew` retries until the
lease would run out, then gives up (:class:`LeaseLost`). Heartbeats use their own connection, never queued behind
the deliveries for a pooled one (a starved pool made heartbeats late under load).
Each heartbeat also forgets the rows of replicas dead for ``FORGET_AFTER`` leases, and reads each shop's pause
(:attr:`PgLaneOwnership.shop_pauses`): a pause or resume made through another replica reaches this one's lanes.
The heartbeats' connection also listens to the connections' changes (``store/pg/connections.py``), told between two
heartbeats by :meth:`PgLaneOwnership.connection_changes`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import asyncpg
import structlog

from outboxd.exceptions import LeaseLost, StoreError
from outboxd.store.lanes import ShopPause
from outboxd.store.pg.connections import CONNECTION_CHANGED
from outboxd.store.pg.db import PgDatabase, pg_errors, server_settings

__all__ = ["FORGET_AFTER", "PgLaneOwnership"]

log = structlog.get_logger("outboxd.lanes")

_TAKE = """
INSERT INTO lane_leases (shop_id, owner, until)
SELECT s, $2, now() + $3::interval FROM unnest($1::text[]) AS s
 WHERE NOT EXISTS (SELECT 1 FROM lane_leases l WHERE l.shop_id = s AND l.until >= now() - $5::interval)
 ORDER BY s LIMIT $4  -- one order for every replica: no lock cycle between two of them
ON CONFLICT (shop_id) DO UPDATE SET owner = excluded.owner, until = excluded.until
 WHERE lane_leases.until < now() - $5::interval
RETURNING shop_id
"""
# A lease given back has no owner ('') and, as ``until``, the moment it was given back.
_GIVE_BACK = "UPDATE lane_leases SET owner = '', until = now() WHERE owner = $1 AND shop_id = ANY($2::text[])"
FORGET_AFTER = 10
"""Leases after which a dead replica's row is deleted (kept that long for whoever looks at the table)."""
# SKIP LOCKED: two replicas forgetting the same rows never wait on each other (nor deadlock on their order).
_FORGET = """
DELETE FROM replicas WHERE owner IN (
  SELECT owner FROM replicas WHERE seen_until < now() - $1::interval FOR UPDATE SKIP LOCKED)
"""


@dataclass(frozen=True, slots=True)
class _Beat:
    """What one heartbeat decided, adopted once its transaction committed."""

    live: int
    mine: frozenset[str]
    leaving: set[str]
    released: list[str]
    pauses: dict[str, ShopPause]


class PgLaneOwnership:
    """The lanes this replica (``owner``) may run (a :class:`outboxd.store.LaneOwnership`); call :meth:`renew`,
    sleep :attr:`interval`, and again."""

    def __init__(
        self,
        db: PgDatabase,
        owner: str,
        lease: dt.timedelta,
        *,
        handover: dt.timedelta = dt.timedelta(0),
        busy: Callable[[str], bool] = lambda shop_id: False,
        slack: int = 1,
    ) -> None:
        self.db = db
        self.owner = owner
        self.lease = lease
        self.handover = handover
        self.busy = busy
        self.slack = slack
        self.every = lease.total_seconds() / 3
        """Seconds between two heartbeats."""
        self._beat_at = 0.0
        self._lease_end = 0.0
        self._conn: asyncpg.Connection | None = None
        self._owned: frozenset[str] = frozenset()
        self._leaving: set[str] = set()
        self._trusted_until = 0.0
        self._pauses: dict[str, ShopPause] = {}
        self._changes: dict[str, str] = {}
        """Connections changed since :meth:`connection_changes` last said: shop -> the row's version."""
        self._changed = asyncio.Event()

    @property
    def interval(self) -> float:
        """Seconds until the next heartbeat is due: ``every`` after the last one began, whatever ran since (the
        caller's work on the shops just taken must not push the next renewal towards the end of the lease)."""
        return max(0.0, self._beat_at + self.every - time.monotonic())

    @property
    def shop_pauses(self) -> Mapping[str, ShopPause]:
        """shop -> its stored pause, as read by the last heartbeat (a pause made through another replica)."""
        return self._pauses

    def owns(self, shop_id: str) -> bool:
        return shop_id in self.owned()

    def owned(self) -> frozenset[str]:
        """The shops whose lease is held, empty once the last renewal is older than the lease minus a margin."""
        return self._owned if time.monotonic() < self._trusted_until else frozenset()

    async def renew(self, configured: Iterable[str] = (), *, first_wait: float = 0.1) -> frozenset[str]:
        """:meth:`heartbeat`, retried with a doubling wait until the leases would run out (claims stop earlier,
        when they can no longer be trusted).

        Raises :class:`LeaseLost` when the database stays out of reach until then: stop claiming, exit, restart.
        """
        deadline = max(self._lease_end, time.monotonic() + self.every)
        wait = first_wait
        while True:
            try:
                return await self.heartbeat(configured)
            except StoreError as exc:
                left = deadline - time.monotonic()
                log.warning("lanes.heartbeat_failed", owner=self.owner, error=str(exc), lease_left=round(left, 2))
                if left <= wait:
                    self._owned = frozenset()
                    raise LeaseLost(f"lane leases of {self.owner} not renewed in time: {exc}") from exc
                await asyncio.sleep(wait)
                wait = min(wait * 2, self.every / 2)

    async def heartbeat(self, configured: Iterable[str] = ()) -> frozenset[str]:
        """Renew, take a fair share of the shops (``configured`` and those seen in events), give back the excess;
        return the shops owned now. On its own connection: never queued behind deliveries for a pooled one."""
        started = self._beat_at = time.monotonic()
        try:
            async with asyncio.timeout(self.every):
                conn = await self._connection()
                async with conn.transaction():
                    return self._settle(await self._beat(conn, configured), started)
        except (*pg_errors, TimeoutError) as exc:
            await self.close()
            raise StoreError(f"state database: lane leases: {exc!r}") from exc

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            conn = await asyncpg.connect(self.db.path, server_settings=server_settings("outboxd-lanes"))
            await conn.add_listener(CONNECTION_CHANGED, self._on_connection_changed)
            self._conn = conn
        return self._conn

    def _on_connection_changed(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        shop_id, version = json.loads(payload)
        self._changes[shop_id] = version
        self._changed.set()

    async def connection_changes(self) -> Mapping[str, str]:
        """The shops whose stored connection changed (through any replica, this one included) since the last call,
        with their rows' versions; waits for one until the next heartbeat is due (empty: none came by then)."""
        if not self._changes:
            try:
                async with asyncio.timeout(self.interval):
                    await self._changed.wait()
            except TimeoutError:
                pass
        self._changed.clear()
        changes, self._changes = self._changes, {}
        return changes

    async def close(self) -> None:
        """Close the heartbeat's connection (the next heartbeat opens another)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def _beat(self, conn: asyncpg.Connection, configured: Iterable[str]) -> _Beat:
        await conn.execute(
            "INSERT INTO replicas (owner, seen_until) VALUES ($1, now() + $2::interval) "
            "ON CONFLICT (owner) DO UPDATE SET seen_until = excluded.seen_until",
            self.owner, self.lease,
        )  # fmt: skip
        await conn.execute(_FORGET, self.lease * FORGET_AFTER)
        live = int(await conn.fetchval("SELECT count(*) FROM replicas WHERE seen_until > now()"))
        # xmin, the transaction that wrote a row's current version, is the row's version (no column to keep up)
        shops = await conn.fetch("SELECT shop_id, xmin::text, paused, pause_reason FROM shops")
        pauses = {r[0]: ShopPause(r[1], bool(r[2]), r[3] or "") for r in shops}
        wanted = sorted({*configured, *pauses})
        held = {r[0] for r in await conn.fetch(
            "UPDATE lane_leases SET until = now() + $2::interval WHERE owner = $1 AND until >= now() "
            "RETURNING shop_id", self.owner, self.lease,
        )}  # fmt: skip
        leaving = self._leaving & held
        ready = set(leaving)  # dropped at an earlier heartbeat: the dispatcher has stopped claiming them
        mine = held - leaving
        share = math.ceil(len(wanted) / max(live, 1))
        if len(mine) < share:  # a shop on its way out is kept rather than a new one taken
            back = set(sorted(leaving)[: share - len(mine)])
            leaving, ready, mine = leaving - back, ready - back, mine | back
        if len(mine) < share:
            taken = await conn.fetch(_TAKE, wanted, self.owner, self.lease, share - len(mine), self.handover)
            mine |= {r[0] for r in taken}
        if len(mine) > share + self.slack:
            extra = set(sorted(mine)[share:])
            leaving, mine = leaving | extra, mine - extra
        done = sorted(shop for shop in ready if not self.busy(shop))
        if done:
            await conn.execute(_GIVE_BACK, self.owner, done)
        return _Beat(live, frozenset(mine), leaving - set(done), done, pauses)

    def _settle(self, beat: _Beat, started: float) -> frozenset[str]:
        """Adopt what a committed heartbeat decided."""
        if beat.mine != self._owned or beat.released:
            log.info("lanes.changed", owner=self.owner, live=beat.live, owned=len(beat.mine),
                     taken=sorted(beat.mine - self._owned), dropped=sorted(self._owned - beat.mine),
                     released=beat.released)  # fmt: skip
        self._owned, self._leaving = beat.mine, beat.leaving
        self._pauses = beat.pauses
        self._trusted_until = started + self.lease.total_seconds() - self.every
        self._lease_end = started + self.lease.total_seconds()
        return self._owned

    async def leave(self) -> None:
        """Give every lease back (clean shutdown, nothing in flight): the others take them after ``handover``.

        Best effort: when the database cannot be reached, the leases run out by themselves.
        """
        self._owned = frozenset()
        try:
            async with asyncio.timeout(self.every):
                conn = await self._connection()
                async with conn.transaction():
                    await conn.execute("UPDATE lane_leases SET owner = '', until = now() WHERE owner = $1", self.owner)
                    await conn.execute("DELETE FROM replicas WHERE owner = $1", self.owner)
        except (*pg_errors, TimeoutError) as exc:
            log.warning("lanes.leave_failed", owner=self.owner, error=repr(exc))
        finally:
            await self.close()
