"""Shops: known from their first event, paused by an operator, and their latest reference snapshot."""

from __future__ import annotations

from outboxd.store._db import Clock, Database, Tx, from_text, to_text
from outboxd.store.audit import append_audit
from outboxd.store.models import Shop

__all__ = ["Shops", "ensure_shops"]


async def ensure_shops(tx: Tx, shop_ids: set[str], now: str) -> None:
    """Make the shops known (seen in an event, connected), inside a caller's transaction."""
    await tx.executemany(
        "INSERT INTO shops (shop_id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        [(s, now) for s in sorted(shop_ids)],
    )


class Shops:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def ids(self) -> list[str]:
        """Every shop seen in an event or added by an operator."""
        return [r[0] for r in await self._db.read("SELECT shop_id FROM shops ORDER BY shop_id")]

    async def get(self, shop_id: str) -> Shop | None:
        row = await self._db.read_one(
            "SELECT shop_id, paused, pause_reason, created_at FROM shops WHERE shop_id = $1", (shop_id,)
        )
        return None if row is None else Shop(row[0], bool(row[1]), row[2], from_text(row[3]))

    async def all(self) -> list[Shop]:
        rows = await self._db.read("SELECT shop_id, paused, pause_reason, created_at FROM shops ORDER BY shop_id")
        return [Shop(r[0], bool(r[1]), r[2], from_text(r[3])) for r in rows]

    async def pause(self, shop_id: str, reason: str, actor: str) -> None:
        """Stop delivering for the shop (its events wait); the daemon leaves paused shops out of its claims."""
        await self._set_paused(shop_id, True, reason, actor)

    async def resume(self, shop_id: str, actor: str) -> None:
        await self._set_paused(shop_id, False, None, actor)

    async def _set_paused(self, shop_id: str, paused: bool, reason: str | None, actor: str) -> None:
        now = to_text(self._clock())
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO shops (shop_id, paused, pause_reason, created_at) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (shop_id) DO UPDATE SET paused = excluded.paused, pause_reason = excluded.pause_reason",
                (shop_id, int(paused), reason, now),
            )
            detail = {"reason": reason} if reason else {}
            await append_audit(tx, now, actor, "shop.pause" if paused else "shop.resume", shop_id, None, detail)

    async def save_reference(self, shop_id: str, payload: str, outbox_id: int | None) -> None:
        """Keep the shop's latest reference snapshot; an older one (lower outbox id) never replaces a newer one."""
        now = to_text(self._clock())
        await self._db.write(
            "INSERT INTO shops (shop_id, reference_payload, reference_outbox_id, reference_updated_at, created_at) "
            "VALUES ($1, $2, $3, $4, $4) ON CONFLICT (shop_id) DO UPDATE SET "
            "reference_payload = excluded.reference_payload, reference_outbox_id = excluded.reference_outbox_id, "
            "reference_updated_at = excluded.reference_updated_at "
            "WHERE shops.reference_outbox_id IS NULL OR excluded.reference_outbox_id IS NULL "
            "OR excluded.reference_outbox_id >= shops.reference_outbox_id",
            (shop_id, payload, outbox_id, now),
        )

    async def references(self, shop_id: str) -> list[tuple[str, int]]:
        """Every snapshot of the shop delivered from the outbox (payload, outbox id), oldest first: an event waiting
        while a newer one was applied books with the one of its time."""
        rows = await self._db.read(
            "SELECT payload, outbox_id FROM deliveries WHERE shop_id = $1 AND event_type = 'reference.updated'"
            " AND state = 'delivered' AND outbox_id IS NOT NULL ORDER BY outbox_id",
            (shop_id,),
        )
        return [(r[0], int(r[1])) for r in rows]

    async def reference(self, shop_id: str) -> tuple[str, int | None] | None:
        """The latest snapshot's payload (JSON text) and outbox id, or None before the first."""
        row = await self._db.read_one(
            "SELECT reference_payload, reference_outbox_id FROM shops WHERE shop_id = $1 "
            "AND reference_payload IS NOT NULL",
            (shop_id,),
        )
        return None if row is None else (row[0], row[1])
