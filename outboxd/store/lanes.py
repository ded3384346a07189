"""Which shops' lanes this process runs: all of them on SQLite, a fair share among replicas on PostgreSQL.

The daemon sees lane ownership through :class:`LaneOwnership` (``Store.lane_ownership``), never the backend:
SQLite has none (one daemon per state file runs every lane); PostgreSQL's is ``store/pg/lanes.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = ["LaneOwnership", "ShopPause"]


@dataclass(frozen=True, slots=True)
class ShopPause:
    """A shop's pause as stored, with the version of its row (a pause or resume made through any replica)."""

    version: str
    paused: bool
    reason: str


class LaneOwnership(Protocol):
    """The lanes this replica may run; call :meth:`renew`, sleep :attr:`interval`, and again."""

    @property
    def interval(self) -> float:
        """Seconds until the next renewal is due."""
        ...

    @property
    def shop_pauses(self) -> Mapping[str, ShopPause]:
        """shop -> its stored pause, as read at the last renewal (a pause made through another replica)."""
        ...

    def owns(self, shop_id: str) -> bool: ...

    def owned(self) -> frozenset[str]:
        """The shops this replica may claim for now (empty once its leases can no longer be trusted)."""
        ...

    async def renew(self, configured: Iterable[str] = ()) -> frozenset[str]:
        """Renew the leases and take a fair share of the shops; raises ``LeaseLost`` when that cannot be done in
        time (stop claiming, exit, restart)."""
        ...

    async def connection_changes(self) -> Mapping[str, str]:
        """shop -> version of its stored connection, for each one changed since the last call (through any replica);
        waits for one until the next renewal is due (empty: none came by then)."""
        ...

    async def leave(self) -> None:
        """Give every lease back (clean shutdown, nothing in flight)."""
        ...
