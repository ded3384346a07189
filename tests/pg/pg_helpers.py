"""Helpers of the PostgreSQL tests: Kash.Click's INSERT (unique basename on purpose)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

INSERT = (
    "INSERT INTO outbox (event_id, shop_id, event_type, aggregate_id, occurred_at, payload) "
    "VALUES ($1, $2, $3, $4, $5::timestamptz, $6::jsonb) ON CONFLICT (event_id) DO NOTHING RETURNING id"
)


def event(n: int, *, shop: str = "shop-1", aggregate: str | None = None) -> tuple[Any, ...]:
    """The parameters of one order.recorded event numbered ``n``."""
    payload = json.dumps({"order_id": aggregate or f"order:{n}", "business_date": "2026-03-14"})
    moment = dt.datetime(2026, 3, 14, 18, 2, 11, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    return (f"ev-{n}", shop, "order.recorded", aggregate or f"order:{n}", moment, payload)
