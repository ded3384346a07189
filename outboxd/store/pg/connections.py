"""The shops' connections on PostgreSQL: every change told to the replicas, a grant held among them while one of them
refreshes it.

Each write of a connection row (a connect, reconnect or disconnect made through any replica, a pair rotated by a
refresh) notifies ``CONNECTION_CHANGED`` with the JSON array ``[shop_id, updated_at]``, in the statement itself:
the replica owning the shop takes the stored grant at once (``store/pg/lanes.py`` listens, ``daemon/lanes.py``
follows), its heartbeat comparing ``updated_at`` still catching a notification lost while it was not listening.

Pennylane rotates refresh tokens, and a refresh token used twice kills the grant: two replicas refreshing the same
grant at once (the owner, and a control call made on another replica) must not both use the stored one. The hold
is a transaction that locks the shop's row (``SELECT ... FOR UPDATE``) and saves the new pair in it: the second
replica reads, once the first has committed, the pair it rotated to and takes it instead of refreshing. A connect
or disconnect made meanwhile waits for the refresh (it would otherwise be overwritten by it). One pooled
connection per refresh, the save included: a burst of refreshes never waits on the pool for its own save.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from outboxd.store.connections import Connections, HeldConnection

__all__ = ["CONNECTION_CHANGED", "PgConnections"]

CONNECTION_CHANGED = "connection_changed"
"""The channel of a connection row's change; its payload is the JSON array ``[shop_id, updated_at]``."""


class PgConnections(Connections):
    """:class:`Connections` telling the replicas of each change, whose :meth:`held` locks the row among them."""

    def _changing(self, statement: str) -> str:
        return (
            f"WITH changed AS ({statement} RETURNING shop_id, updated_at) "  # noqa: S608 (our own statements)
            f"SELECT pg_notify('{CONNECTION_CHANGED}', json_build_array(shop_id, updated_at)::text) FROM changed"
        )

    @asynccontextmanager
    async def held(self, shop_id: str) -> AsyncIterator[HeldConnection]:
        async with self._db.transaction() as tx:
            await tx.execute("SET LOCAL idle_in_transaction_session_timeout = 0")  # idle while Pennylane answers
            row = await tx.fetchone("SELECT * FROM connections WHERE shop_id = $1 FOR UPDATE", (shop_id,))
            yield HeldConnection(
                None if row is None else self._from_row(row), partial(self._save_tokens, tx.execute, shop_id)
            )
