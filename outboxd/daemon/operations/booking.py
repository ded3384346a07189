"""A shop's booking mode as the control API shows and switches it (the store keeps the switches, audited)."""

from __future__ import annotations

import datetime as dt

from outboxd.control.shapes import BackfillMode, Booking
from outboxd.daemon.lanes import Lanes
from outboxd.store import Store
from outboxd.store.booking import mode_on

__all__ = ["booking_view", "switch_booking"]


async def booking_view(store: Store, shop_id: str, today: dt.date) -> Booking:
    switches = await store.booking.switches(shop_id)
    return {
        "shop_id": shop_id,
        "mode": mode_on(switches, today),
        "switches": [
            {"from_date": s.from_date, "mode": s.mode, "actor": s.actor, "reason": s.reason, "changed_at": s.changed_at}
            for s in switches
        ],
        "waiting_for_closing": (await store.register_days.waiting()).get(shop_id, 0),
    }


async def switch_booking(
    store: Store, lanes: Lanes, shop_id: str, actor: str, mode: BackfillMode, from_date: str, reason: str
) -> Booking:
    """The switch, then a dispatcher pass over the shop: events given back to detailed mode flow at once."""
    await store.booking.switch(shop_id, mode, from_date, actor, reason)
    lanes.wake(shop_id)
    return await booking_view(store, shop_id, dt.date.today())
