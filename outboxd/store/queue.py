"""The operator's view of the queue: statistics per shop, failed deliveries, retry and discard (audited).

Bulk actions take a :class:`FailedFilter`; call the matching count first (the dry run), then act. Each changed
delivery gets its own audit row, in the same transaction as the change. What waits behind an open delivery
follows the claim's rules (``deliveries``): later events of its aggregate, and for the shop's oldest open
reference snapshot every later event of the shop.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from outboxd.contract.row import QUARANTINE_SHOP
from outboxd.store._db import Clock, Database, Row, Tx, from_text, terms_given, to_text
from outboxd.store.deliveries import DELIVERY_COLUMNS, OPEN_SQL, delivery_from_row
from outboxd.store.entries import Entries
from outboxd.store.models import OPEN_STATES, Delivery, DeliveryDetail, FailedFilter, ShopStats

__all__ = ["Blocked", "Queue"]

_AUDIT = "INSERT INTO audit (at, actor, action, shop_id, target, detail) VALUES ($1, $2, $3, $4, $5, $6)"
# $1 is the time; {ids} selects the ids, from $2 on.
# A row quarantined at ingestion (its shop_id unreadable) has no shop to be delivered for: no retry can help.
_RETRY = (
    "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $1 "  # noqa: S608 (constants)
    f"WHERE state = 'failed' AND shop_id <> '{QUARANTINE_SHOP}' AND id IN ({{ids}}) RETURNING id, shop_id, event_id"
)
# Leased rows are in flight: they cannot be discarded under the daemon's feet.
_DISCARD = (
    "UPDATE deliveries SET state = 'discarded', updated_at = $1 "
    "WHERE state IN ('pending', 'failed') AND id IN ({ids}) RETURNING id, shop_id, event_id"
)


_OLDEST_REFERENCE = (
    f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE shop_id = $1 AND aggregate_id = 'reference' AND {OPEN_SQL} "  # noqa: S608 (constants)
    "ORDER BY id LIMIT 1"
)


# Queue.stats: each reads every shop's rows, or one shop's with `` AND shop_id = $2`` appended.
_COUNTS = "SELECT shop_id, state, n FROM queue_counts WHERE n > $1"
_DELIVERED_ON = "SELECT shop_id, n FROM delivered_daily WHERE day = $1"
_OLDEST_LIVE = (
    "SELECT shop_id, created_at FROM deliveries WHERE id IN (SELECT min(id) FROM deliveries WHERE state = 'pending'"
    " AND head = 1 AND priority = $1{one} GROUP BY shop_id)"
)
"""Each shop's oldest live pending head (priority $1: 0, live)."""


@dataclass(frozen=True, slots=True)
class Blocked:
    """The open deliveries waiting behind one: the first ``ids`` (oldest first) and how many in all.

    ``whole_shop`` when the delivery is the shop's oldest open reference snapshot: the claim holds every later
    event of the shop behind it (they may book on the journals and accounts it brings), not only its aggregate.
    """

    ids: tuple[int, ...] = ()
    total: int = 0
    whole_shop: bool = False


def _where(f: FailedFilter | None, values: list[Any]) -> str:
    """The failed deliveries the filter matches, its values appended to ``values`` (numbered after theirs)."""
    f = f or FailedFilter()
    before = None if f.failed_before is None else to_text(f.failed_before)
    after = None if f.failed_after is None else to_text(f.failed_after)
    return "state = 'failed' AND " + terms_given(
        (("shop_id =", f.shop_id), ("event_type =", f.event_type), ("last_error_class =", f.error_class),
         ("last_status =", f.http_status), ("updated_at <", before), ("updated_at >=", after)),
        values,
    )  # fmt: skip


class Queue:
    def __init__(self, db: Database, clock: Clock, entries: Entries) -> None:
        self._db = db
        self._clock = clock
        self._entries = entries

    async def stats(self, shop_id: str | None = None) -> list[ShopStats]:
        """Per shop (every shop known, or ``shop_id``): counts by state (trigger-kept counters), delivered today (UTC)
        and the oldest live pending. The same reads for all shops together as for one: the metrics page and
        systemd's status line ask for thousands of shops."""
        shops = [shop_id] if shop_id is not None else [r[0] for r in await self._db.read("SELECT shop_id FROM shops")]
        one, args = ("", ()) if shop_id is None else (" AND shop_id = $2", (shop_id,))
        counts: defaultdict[str, dict[str, int]] = defaultdict(dict)
        for r in await self._db.read(_COUNTS + one, (0, *args)):
            counts[r[0]][r[1]] = int(r[2])
        today = self._clock().date().isoformat()
        days = {r[0]: int(r[1]) for r in await self._db.read(_DELIVERED_ON + one, (today, *args))}
        oldest = {r[0]: from_text(r[1]) for r in await self._db.read(_OLDEST_LIVE.format(one=one), (0, *args))}
        return [ShopStats(
            shop, counts[shop].get("pending", 0), counts[shop].get("leased", 0), counts[shop].get("failed", 0),
            counts[shop].get("delivered", 0), counts[shop].get("discarded", 0), counts[shop].get("skipped", 0),
            days.get(shop, 0), oldest.get(shop),
        ) for shop in sorted(shops)]  # fmt: skip

    async def totals(self) -> ShopStats:
        """Every shop's counts added up (``shop_id`` empty; the trigger-kept counters: one read for any number of
        shops)."""
        counts = {r[0]: int(r[1]) for r in await self._db.read("SELECT state, sum(n) FROM queue_counts GROUP BY state")}
        return ShopStats(
            "", counts.get("pending", 0), counts.get("leased", 0), counts.get("failed", 0), counts.get("delivered", 0),
            counts.get("discarded", 0), counts.get("skipped", 0), 0, None,
        )  # fmt: skip

    async def failed(self, where: FailedFilter | None = None, *, after_id: int = 0, limit: int = 100) -> list[Delivery]:
        """Failed deliveries matching the filter, oldest first; page with ``after_id``."""
        values: list[Any] = []
        sql = _where(where, values)
        n = len(values)
        rows = await self._db.read(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE {sql} AND id > ${n + 1} ORDER BY id LIMIT ${n + 2}",  # noqa: S608 (terms are constants of this module)
            [*values, after_id, limit],
        )
        return [delivery_from_row(r) for r in rows]

    async def count_failed(self, where: FailedFilter | None = None) -> int:
        """The dry run of a bulk action: how many deliveries it would touch now."""
        values: list[Any] = []
        sql = _where(where, values)
        row = await self._db.read_one(f"SELECT count(*) FROM deliveries WHERE {sql}", values)  # noqa: S608 (terms are constants of this module)
        return 0 if row is None else int(row[0])

    async def detail(self, delivery_id: int) -> DeliveryDetail | None:
        """A delivery with its payload, entries and attempt history (bodies were redacted when recorded)."""
        row = await self._db.read_one(f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1", (delivery_id,))  # noqa: S608 (constant columns)
        if row is None:
            return None
        entries = await self._entries.of_delivery(delivery_id)
        attempts = await self._entries.attempts_of(delivery_id)
        return DeliveryDetail(delivery_from_row(row), tuple(entries), tuple(attempts))

    async def blocked_by(self, delivery: Delivery, limit: int = 100) -> Blocked:
        """What waits until this delivery is delivered or discarded (the first ``limit`` ids, and the count).

        Nothing waits behind a final delivery; a shop held by a reference can have thousands: they are counted.
        """
        if delivery.state not in OPEN_STATES:
            return Blocked()
        oldest = await self._db.read_one(_OLDEST_REFERENCE, (delivery.shop_id,))
        whole_shop = oldest is not None and oldest["id"] == delivery.id
        scope = "" if whole_shop else "AND aggregate_id = $3 "
        behind = f"FROM deliveries WHERE shop_id = $1 AND id > $2 {scope}AND {OPEN_SQL}"
        values = [delivery.shop_id, delivery.id] + ([] if whole_shop else [delivery.aggregate_id])
        rows = []
        if limit:  # a status asks only for the count
            rows = await self._db.read(f"SELECT id {behind} ORDER BY id LIMIT ${len(values) + 1}", [*values, limit])
        total = await self._db.read_one(f"SELECT count(*) {behind}", values)
        return Blocked(tuple(int(r[0]) for r in rows), 0 if total is None else int(total[0]), whole_shop)

    async def holding_reference(self, shop_id: str) -> Delivery | None:
        """The shop's oldest open reference snapshot when it failed: until it is retried and delivered (or
        discarded), no later event of the shop is claimed. One index seek when the shop is not held."""
        row = await self._db.read_one(_OLDEST_REFERENCE, (shop_id,))
        if row is None or row["state"] != "failed":
            return None
        return delivery_from_row(row)

    async def retry(self, ids: Iterable[int], actor: str) -> int:
        """Failed deliveries go back to pending, due now, with a fresh attempt budget; returns how many."""
        return await self._act(_RETRY.format(ids=self._db.dialect.id_list("$2")), [_ids(ids)],
                               actor, "delivery.retry", {})  # fmt: skip

    async def discard(self, ids: Iterable[int], reason: str, actor: str) -> int:
        """Pending or failed deliveries are given up, with a reason; their aggregate flows again."""
        return await self._act(_DISCARD.format(ids=self._db.dialect.id_list("$2")), [_ids(ids)],
                               actor, "delivery.discard", {"reason": reason})  # fmt: skip

    async def retry_matching(self, where: FailedFilter, actor: str) -> int:
        """Retry every failed delivery the filter matches now (count them first with :meth:`count_failed`)."""
        values: list[Any] = [None]  # $1 is the time
        select = f"SELECT id FROM deliveries WHERE {_where(where, values)}"  # noqa: S608 (terms are constants of this module)
        return await self._act(_RETRY.format(ids=select), values[1:], actor, "delivery.retry", {"bulk": True})

    async def discard_matching(self, where: FailedFilter, reason: str, actor: str) -> int:
        """Discard every failed delivery the filter matches now (count them first with :meth:`count_failed`)."""
        values: list[Any] = [None]  # $1 is the time
        select = f"SELECT id FROM deliveries WHERE {_where(where, values)}"  # noqa: S608 (terms are constants of this module)
        detail = {"reason": reason, "bulk": True}
        return await self._act(_DISCARD.format(ids=select), values[1:], actor, "delivery.discard", detail)

    async def _act(self, sql: str, values: list[Any], actor: str, action: str, detail: dict[str, Any]) -> int:
        """``sql`` with the time as $1 and ``values`` from $2 on; each changed delivery audited."""
        now = to_text(self._clock())
        async with self._db.transaction() as tx:
            changed = await tx.fetchall(sql, [now, *values])
            await _audit_each(tx, now, actor, action, changed, detail)
        return len(changed)


def _ids(ids: Iterable[int]) -> str:
    return json.dumps([int(i) for i in ids])


async def _audit_each(tx: Tx, now: str, actor: str, action: str, rows: list[Row], detail: dict[str, Any]) -> None:
    await tx.executemany(
        _AUDIT,
        [(now, actor, action, r["shop_id"], f"delivery:{r['id']}",
          json.dumps(detail | {"event_id": r["event_id"]}, ensure_ascii=False)) for r in rows],
    )  # fmt: skip
