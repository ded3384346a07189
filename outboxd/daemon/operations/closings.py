"""The Z control (docs/accounting.md): each delivered closing against the payments and tickets delivered for its day.

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
from outboxd.control.shapes import Closing, Closings
from outboxd.delivery.zreport import z_report
from outboxd.money import format_cents
from outboxd.rules.accounts import method_label

if TYPE_CHECKING:
    from outboxd.delivery.lane import Lane
    from outboxd.store import DeliveredClosing, Store

__all__ = ["DEFAULT_DAYS", "closings_view"]

DEFAULT_DAYS = 7
"""Without ``since``, the closings of the last week (today included)."""


async def closings_view(store: Store, lane: Lane, since: dt.date | None, mismatch_only: bool) -> Closings:
    """``{"shop_id", "since", "checked", "mismatches", "closings": [Closing]}``, newest business day first.

    ``checked`` counts the closings whose day has nothing left to deliver (the others say ``conclusive: false``
    and how many of their day's deliveries are still ``open``); only those can be a mismatch."""
    start = since or dt.date.today() - dt.timedelta(days=DEFAULT_DAYS - 1)
    mapping = lane.mapping()
    closings: list[Closing] = []
    checked = 0
    for delivered in await store.closings.delivered(lane.shop_id, start):
        report = await z_report(store, lane.shop_id, _closing(delivered))
        checked += report.conclusive
        mismatch = report.mismatch
        if mismatch or not mismatch_only:
            sales = report.control.sales
            closings.append({
                "delivery_id": delivered.delivery_id, "register_id": delivered.register_id,
                "register_name": mapping.registers.get(delivered.register_id),
                "business_date": delivered.business_date.isoformat(), "z_number": delivered.z_number,
                "mismatch": mismatch, "conclusive": report.conclusive, "open": report.open,
                "sales": {"expected": format_cents(sales.expected), "booked": format_cents(sales.delivered),
                          "difference": format_cents(sales.difference)},
                "rows": [{"method_id": r.method_id, "label": method_label(mapping, r.method_id),
                          "expected": format_cents(r.expected), "delivered": format_cents(r.delivered),
                          "difference": format_cents(r.difference)} for r in report.control.rows],
            })  # fmt: skip
    mismatches = sum(1 for c in closings if c["mismatch"])
    return {"shop_id": lane.shop_id, "since": start.isoformat(), "checked": checked, "mismatches": mismatches,
            "closings": closings}


def _closing(delivered: DeliveredClosing) -> RegisterClosed:
    closing = parse_payload("register.closed", json.loads(delivered.payload))
    assert isinstance(closing, RegisterClosed)  # a delivered closing was parsed before it was booked
    return closing
