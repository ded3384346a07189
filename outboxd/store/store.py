"""The Store facade: one object the daemon opens at start, with a group of methods per thing it owns.

async with open_store("state.db", owner="host-1:4242", cipher=cipher) as store:
    await store.deliveries.ingest_from(source)
    for delivery in await store.deliveries.claim(50, shops={"shop-1"}):
        ...

The daemon uses :class:`Store` without knowing the backend: what differs between SQLite and PostgreSQL beyond the
statements (taking leases back at start, lane ownership among replicas) is a method of it.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Sequence

from outboxd.store._db import Clock, Database, Params
from outboxd.store.audit import Audit
from outboxd.store.backfills import Backfills
from outboxd.store.booking import BookingModes
from outboxd.store.caches import Caches
from outboxd.store.closings import Closings
from outboxd.store.connections import Connections
from outboxd.store.deliveries import Deliveries
from outboxd.store.entries import Entries
from outboxd.store.lanes import LaneOwnership
from outboxd.store.letterings import Letterings
from outboxd.store.models import Cipher
from outboxd.store.queue import Queue
from outboxd.store.register_days import RegisterDays
from outboxd.store.retention import Retention
from outboxd.store.shops import Shops

__all__ = ["DEFAULT_LEASE", "SqliteStore", "Store"]

DEFAULT_LEASE = dt.timedelta(seconds=120)


class Store(abc.ABC):
    """The daemon's state database, whatever its backend. Build it with :func:`open_store`."""

    def __init__(self, db: Database, deliveries: Deliveries, *, clock: Clock, cipher: Cipher | None) -> None:
        self.db = db
        self.owner = deliveries.owner
        self.lease = deliveries.lease
        self.clock = clock
        self.deliveries = deliveries
        """Hot path: ingest, claim, settle."""
        self.entries = Entries(db, clock)
        """Sent entries (dedup by piece_number) and the attempt history."""
        self.queue = Queue(db, clock, self.entries)
        """Operator view: stats, failed listing and detail, retry/discard (bulk too), audited."""
        self.caches = Caches(db)
        """Pennylane ids per shop: journals, accounts, customers, order accounts."""
        self.connections = Connections(db, clock, cipher)
        """Pennylane connections and pending OAuth flows, encrypted with ``cipher``."""
        self.shops = Shops(db, clock)
        """Known shops, pause/resume, reference snapshots."""
        self.backfills = Backfills(db, clock)
        self.closings = Closings(db)
        """Delivered closings and the payments of their register and day: the Z control's inputs."""
        self.audit = Audit(db, clock)
        self.retention = Retention(db, clock)
        """Pruning of what is settled and old (payloads, attempt bodies); piece numbers and event ids stay."""
        self.letterings = Letterings(db, clock)
        """Per order, its customer lines and the lettering step's state."""
        self.booking = BookingModes(db, clock)
        """Per shop, detailed or daily from a date on (each switch, audited)."""
        self.register_days = RegisterDays(db, clock)
        """The live register-days booked daily: decided at ingestion, held for their closing, settled."""
        deliveries.on_ingest = self.register_days.decide

    async def settle_delivered(
        self,
        shop_id: str,
        delivery_id: int,
        *,
        started_at: dt.datetime,
        posted: tuple[str, int] | None = None,
        order_account: tuple[str, int] | None = None,
        http_status: int | None = None,
        request_body: str | None = None,
        response_body: str | None = None,
        note: str | None = None,
        also: Sequence[tuple[str, Params]] = (),
    ) -> bool:
        """The end of a delivered event as one unit of writes: its last entry posted (``(piece_number, id)``), an
        order's customer account kept for its payments (``(order_id, account id)``), the delivery delivered, the
        attempt in the history (with ``note``, what the booking noted, shown in the delivery's detail), and ``also``
        (the lettering's lines). One write
        instead of four on the hot path; a crash before it leaves the entry
        ``recorded``, which the next attempt looks up (the dedup rule). False: the lease was lost (the delivery
        row is unchanged, the rest is written: it is true either way).
        """
        statements = []
        if posted is not None:
            statements.append(self.entries.posted_statement(shop_id, *posted))
        if order_account is not None:
            statements.append(self.caches.order_account_statement(shop_id, *order_account))
        statements.extend(also)
        statements.append(self.deliveries.delivered_statement(delivery_id))
        statements.append(
            self.entries.attempt_statement(
                delivery_id, started_at=started_at, outcome="delivered", http_status=http_status, message=note,
                request_body=request_body, response_body=response_body,
            )
        )  # fmt: skip
        changed = await self.db.write_many(statements)
        return changed[-2] == 1

    @abc.abstractmethod
    async def take_back_at_start(self) -> int:
        """Leases found at the daemon's start that a dead process left, back to pending; returns how many."""

    @abc.abstractmethod
    def lane_ownership(self, *, handover: dt.timedelta, busy: Callable[[str], bool]) -> LaneOwnership | None:
        """Which lanes this process may run among replicas (None: every lane, no other process shares the state).

        ``handover``: how long a lane given back stays free (the token's rate window); ``busy(shop)``: whether
        the shop has deliveries in flight here (its lane is given back only once they are done).
        """

    async def close(self) -> None:
        await self.db.close()


class SqliteStore(Store):
    """The state database in a SQLite file, which one daemon at a time holds (``hold_state_lock``)."""

    async def take_back_at_start(self) -> int:
        """Every lease: the daemon holds the state file's lock, so whatever lease it finds was left by a process
        that died (kill -9, power loss)."""
        return await self.deliveries.take_back_all()

    def lane_ownership(self, *, handover: dt.timedelta, busy: Callable[[str], bool]) -> LaneOwnership | None:
        return None
