"""Reconcile after a state restore: the entries Pennylane already holds, recorded as posted so none is sent twice.

A restored state database has no record of the entries posted since its backup, and the dedup rule
(``Deliverer.post_once``) looks Pennylane up only for pieces it has a record of. A reconcile lists the shop's
entries in Pennylane and hands them here: each piece_number becomes ``posted`` with its Pennylane id, and
``post_once`` then skips it. The digest of its body is not known (NULL, migration 0004); its delivery is the open
delivery whose event books that piece when the caller found one, else NULL too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from outboxd.store._db import Clock, Database, to_text
from outboxd.store.deliveries import DELIVERY_COLUMNS, OPEN_SQL, delivery_from_row
from outboxd.store.models import Delivery

__all__ = ["FoundEntry", "OpenBefore", "Reconciliation", "Tally"]

_STATES = "SELECT piece_number, state FROM sent_entries WHERE shop_id = $1 AND piece_number IN ({pieces})"
_POSTED = (
    "INSERT INTO sent_entries (shop_id, piece_number, delivery_id, journal_id, entry_date, state, pennylane_id, "
    "body_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'posted', $6, NULL, $7, $7) "
    "ON CONFLICT (shop_id, piece_number) DO UPDATE SET state = 'posted', pennylane_id = excluded.pennylane_id, "
    "updated_at = excluded.updated_at WHERE sent_entries.state <> 'posted'"
)
_OPEN_SINCE = (
    f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE shop_id = $1 AND {OPEN_SQL} AND business_date >= $2 "  # noqa: S608 (constants)
    "AND id > $3 ORDER BY id LIMIT $4"
)
_OPEN_BEFORE = (
    f"SELECT count(*), min(business_date) FROM deliveries WHERE shop_id = $1 AND {OPEN_SQL} AND business_date < $2"  # noqa: S608 (constants)
)


@dataclass(frozen=True, slots=True)
class FoundEntry:
    """One entry listed by Pennylane, with the piece_number it was posted with."""

    piece_number: str
    pennylane_id: int
    journal_id: int
    entry_date: str


@dataclass(frozen=True, slots=True)
class Tally:
    """What recording found entries changed: new records, unsettled ones now posted, records already posted."""

    recorded: int = 0
    confirmed: int = 0
    known: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.recorded + other.recorded, self.confirmed + other.confirmed, self.known + other.known)


@dataclass(frozen=True, slots=True)
class OpenBefore:
    """Open deliveries of a shop dated before a day: how many, and the earliest business date among them."""

    count: int
    earliest: dt.date | None


class Reconciliation:
    """The store side of ``outboxd ctl reconcile``; the listing of Pennylane is the caller's."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def record_posted(
        self, shop_id: str, found: Sequence[FoundEntry], owners: Mapping[str, int] | None = None
    ) -> Tally:
        """Record each piece as posted, in one short transaction (a page of Pennylane's list at a time).

        A new record belongs to ``owners[piece]``, the open delivery that books it, if any. A piece already
        ``posted`` is left as it is; one ``recorded`` or ``unknown`` (its POST may or may not have landed) is
        posted now, as the dedup look-up would have found it. Pieces must be distinct.
        """
        owners = owners or {}
        now = to_text(self._clock())
        recorded = confirmed = known = 0
        async with self._db.transaction() as tx:
            pieces = [entry.piece_number for entry in found]
            sql = _STATES.format(pieces=", ".join(f"${n}" for n in range(2, len(pieces) + 2)))
            states = {row[0]: row[1] for row in await tx.fetchall(sql, (shop_id, *pieces))} if pieces else {}
            for entry in found:
                state = states.get(entry.piece_number)
                if state == "posted":
                    known += 1
                    continue
                owner = owners.get(entry.piece_number)
                await tx.execute(_POSTED, (shop_id, entry.piece_number, owner, entry.journal_id, entry.entry_date,
                                           entry.pennylane_id, now))  # fmt: skip
                if state is None:
                    recorded += 1
                else:
                    confirmed += 1
        return Tally(recorded, confirmed, known)

    async def open_since(self, shop_id: str, day: dt.date, *, after_id: int = 0, limit: int = 500) -> list[Delivery]:
        """Open deliveries of the shop dated ``day`` or later, by id: those whose entries a reconcile can find."""
        rows = await self._db.read(_OPEN_SINCE, (shop_id, day.isoformat(), after_id, limit))
        return [delivery_from_row(r) for r in rows]

    async def open_before(self, shop_id: str, day: dt.date) -> OpenBefore:
        """Open (pending, leased, failed) deliveries of the shop whose business date is before ``day``.

        Every entry an event books is dated on its business date, so a reconcile from the earliest open date
        looks at every entry an open delivery could post again.
        """
        row = await self._db.read_one(_OPEN_BEFORE, (shop_id, day.isoformat()))
        count, earliest = (0, None) if row is None else (int(row[0]), row[1])
        return OpenBefore(count, None if earliest is None else dt.date.fromisoformat(earliest))
