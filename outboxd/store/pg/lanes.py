"""Which replica owns each shop's lane: a lease row per shop, renewed by a heartbeat, spread evenly.

Only the owner claims a shop's deliveries, so one Pennylane token is driven by one process and its rate limit
holds across replicas. Each heartbeat (every ``lease / 3``), in one transaction:
1. the replica says it is alive (``replicas.seen_until``) and renews its own shop leases;
2. it counts the live replicas and takes its fair share, ``ceil(shops / live)``, from shops whose lease is free
   or ran out (a killed replica's shops come free within ``lease``);
3. it gives back shops above ``share + slack`` (a replica that joined gets them on its next heartbeat).
A replica trusts a lease only until ``lease - margin`` after the heartbeat that renewed it: if its heartbeats stop
reaching the database, it stops claiming before anybody else may take over.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Iterable

from outboxd.exceptions import StoreError
from outboxd.store.pg.db import PgDatabase, pg_errors

__all__ = ["LaneOwnership"]

_TAKE = """
INSERT INTO lane_leases (shop_id, owner, until)
SELECT s, $2, now() + $3::interval FROM unnest($1::text[]) AS s
 WHERE NOT EXISTS (SELECT 1 FROM lane_leases l WHERE l.shop_id = s AND l.until >= now())
 ORDER BY s LIMIT $4  -- one order for every replica: no lock cycle between two of them
ON CONFLICT (shop_id) DO UPDATE SET owner = excluded.owner, until = excluded.until WHERE lane_leases.until < now()
RETURNING shop_id
"""


class LaneOwnership:
    """The lanes this replica (``owner``) may run; call :meth:`heartbeat` every :attr:`interval` seconds."""

    def __init__(self, db: PgDatabase, owner: str, lease: dt.timedelta, *, slack: int = 1) -> None:
        self.db = db
        self.owner = owner
        self.lease = lease
        self.slack = slack
        self.interval = lease.total_seconds() / 3
        self._owned: frozenset[str] = frozenset()
        self._trusted_until = 0.0

    def owns(self, shop_id: str) -> bool:
        return shop_id in self.owned()

    def owned(self) -> frozenset[str]:
        """The shops whose lease is held, empty once the last renewal is older than the lease minus a margin."""
        return self._owned if time.monotonic() < self._trusted_until else frozenset()

    async def heartbeat(self, shops: Iterable[str]) -> frozenset[str]:
        """Renew, take a fair share, give back the excess; return the shops owned now."""
        wanted = sorted(set(shops))
        started = time.monotonic()
        try:
            async with self.db.pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "INSERT INTO replicas (owner, seen_until) VALUES ($1, now() + $2::interval) "
                    "ON CONFLICT (owner) DO UPDATE SET seen_until = excluded.seen_until",
                    self.owner, self.lease,
                )  # fmt: skip
                live = int(await conn.fetchval("SELECT count(*) FROM replicas WHERE seen_until > now()"))
                mine = {r[0] for r in await conn.fetch(
                    "UPDATE lane_leases SET until = now() + $2::interval WHERE owner = $1 AND until >= now() "
                    "RETURNING shop_id", self.owner, self.lease,
                )}  # fmt: skip
                share = math.ceil(len(wanted) / max(live, 1))
                if len(mine) < share:
                    taken = await conn.fetch(_TAKE, wanted, self.owner, self.lease, share - len(mine))
                    mine |= {r[0] for r in taken}
                if len(mine) > share + self.slack:
                    extra = sorted(mine)[share:]
                    await conn.execute(
                        "DELETE FROM lane_leases WHERE owner = $1 AND shop_id = ANY($2::text[])", self.owner, extra
                    )
                    mine -= set(extra)
        except pg_errors as exc:
            raise StoreError(f"state database: lane leases: {exc}") from exc
        self._owned = frozenset(mine)
        self._trusted_until = started + self.lease.total_seconds() - self.interval
        return self._owned

    async def leave(self) -> None:
        """Give every lease back at once (clean shutdown), so the other replicas take the shops on their next beat."""
        try:
            async with self.db.pool.acquire() as conn, conn.transaction():
                await conn.execute("DELETE FROM lane_leases WHERE owner = $1", self.owner)
                await conn.execute("DELETE FROM replicas WHERE owner = $1", self.owner)
        except pg_errors as exc:
            raise StoreError(f"state database: lane leases: {exc}") from exc
        self._owned = frozenset()
