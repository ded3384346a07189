"""The Z control (docs/accounting.md): each delivered closing against the payments delivered for its register and day.

Computed when asked, from the state database: the payments of a day may still be in flight (retried, blocked
behind a failed ticket, held as history) when its closing is delivered, so only a reading made now is the
truth. The warning logged when a closing is delivered (``outboxd.delivery.zreport``) is the same comparison made
at that moment: it may be premature, and the report says whether the mismatch is still there.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

from outboxd.contract import RegisterClosed, parse_payload
from outboxd.control.backend import JSONObject
from outboxd.delivery.zreport import z_rows
from outboxd.money import format_cents
from outboxd.rules.accounts import method_label

if TYPE_CHECKING:
    from outboxd.delivery.lane import Lane
    from outboxd.store import DeliveredClosing, Store

__all__ = ["DEFAULT_DAYS", "closings_view"]

DEFAULT_DAYS = 7
"""Without ``since``, the closings of the last week (today included)."""


async def closings_view(store: Store, lane: Lane, since: dt.date | None, mismatch_only: bool) -> JSONObject:
    """``{"shop_id", "since", "mismatches", "closings": [Closing]}``, newest business day first."""
    start = since or dt.date.today() - dt.timedelta(days=DEFAULT_DAYS - 1)
    mapping = lane.mapping()
    closings = []
    for delivered in await store.closings.delivered(lane.shop_id, start):
        rows = await z_rows(store, lane.shop_id, _closing(delivered))
        mismatch = any(r.difference for r in rows)
        if mismatch or not mismatch_only:
            closings.append({
                "delivery_id": delivered.delivery_id, "register_id": delivered.register_id,
                "register_name": mapping.registers.get(delivered.register_id),
                "business_date": delivered.business_date.isoformat(), "z_number": delivered.z_number,
                "mismatch": mismatch,
                "rows": [{"method_id": r.method_id, "label": method_label(mapping, r.method_id),
                          "expected": format_cents(r.expected), "delivered": format_cents(r.delivered),
                          "difference": format_cents(r.difference)} for r in rows],
            })  # fmt: skip
    mismatches = sum(1 for c in closings if c["mismatch"])
    return {"shop_id": lane.shop_id, "since": start.isoformat(), "mismatches": mismatches, "closings": closings}


def _closing(delivered: DeliveredClosing) -> RegisterClosed:
    closing = parse_payload("register.closed", json.loads(delivered.payload))
    assert isinstance(closing, RegisterClosed)  # a delivered closing was parsed before it was booked
    return closing
