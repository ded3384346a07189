"""What each lane knows of its shop's stored connection, so that a row another replica wrote is told apart from
the lane's own writes (its token rotations included), and used only once its writer's requests are out of the
token's rate window.

Replicas on PostgreSQL share the ``connections`` rows; the lane heartbeat gives each row's version, and
:meth:`ConnectionRows.stale` says which rows moved since they were settled. A lane remembers the fingerprints of the
rows it was loaded from or is about to write (:meth:`ConnectionRows.wrote`): such a row changes nothing. Any other
row was written elsewhere and applies at once, but for a connection on a lane this replica owns: that one is used
``window`` seconds after a change was first seen (its writer asked ``GET /me`` with it before storing it, and the
owner's first requests must not share a rate window with that one).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from outboxd.store import Connection as StoredConnection

__all__ = ["ConnectionRows", "fingerprint", "token_print"]


def token_print(kind: str, state: str, access_token: str) -> str:
    """A row's fingerprint from its parts; the token only as a short digest."""
    return f"{kind}:{state}:{hashlib.sha256(access_token.encode()).hexdigest()[:16]}"


def fingerprint(row: StoredConnection | None) -> str:
    """What a stored connection makes of a lane: equal fingerprints, equal lanes."""
    if row is None or row.state == "disconnected":
        return "disconnected"
    return token_print(row.kind, row.state, row.access_token)


@dataclass(slots=True)
class _Shop:
    known: tuple[str, ...] = ()
    """Fingerprints of the rows the lane was loaded from or wrote."""
    changes: int = 0
    """Local changes of the lane's connection: a row read while one happened is read again later."""
    seen: str = ""
    """The row version settled last."""
    due: float | None = None
    """From when a connection written elsewhere may be used here (the first unapplied change sets it: reset by
    each change, it would never come while the other replica rotates tokens faster than the window)."""


class ConnectionRows:
    """The bookkeeping of :meth:`outboxd.delivery.connections.Connections.follow`, one entry per shop."""

    def __init__(self, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._shops: dict[str, _Shop] = {}

    def _shop(self, shop_id: str) -> _Shop:
        return self._shops.setdefault(shop_id, _Shop())

    def wrote(self, shop_id: str, *prints: str) -> None:
        """The lane now runs (or is about to store) the rows of these fingerprints."""
        shop = self._shop(shop_id)
        shop.known, shop.changes = prints, shop.changes + 1

    def changed(self, shop_id: str) -> None:
        """The lane's connection changed here (a client attached): a row being read may predate it."""
        self._shop(shop_id).changes += 1

    def stale(self, shop_id: str, version: str) -> int | None:
        """None when the row at ``version`` is settled; else a mark to hand to :meth:`verdict` after reading it."""
        shop = self._shop(shop_id)
        return None if shop.seen == version else shop.changes

    def verdict(self, shop_id: str, version: str, mark: int, row: StoredConnection | None, *, owned: bool) -> bool:
        """Whether the lane must load ``row`` (read at ``version`` or later) now; then it counts as known."""
        shop = self._shop(shop_id)
        if shop.changes != mark:  # changed here while the row was read: read it again at the next heartbeat
            return False
        printed = fingerprint(row)
        if printed in shop.known:
            shop.seen, shop.due = version, None
            return False
        if owned and row is not None and row.state == "connected":
            now = self._clock()
            if shop.due is None:
                shop.due = now + self.window
            if now < shop.due:
                return False
        shop.seen, shop.due = version, None
        self.wrote(shop_id, printed)
        return True
