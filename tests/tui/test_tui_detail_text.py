"""The delivery detail's first lines: an error for a failed delivery, a plain outcome for a delivered one."""

from __future__ import annotations

from typing import Any

from tui.screens.delivery import render_detail


def _detail(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 7, "state": "failed", "event_type": "order.recorded", "aggregate_id": "order:o-1", "shop_id": "s1",
        "business_date": "2026-03-14", "error_class": "booking", "http_status": None,
        "message": "vat_rate 8.5: not in the shop's mapping", "attempts": [], "blocked": [], "blocked_total": 0,
        "holds_shop": False, "payload": {"order_id": "o-1"}, "entries": [],
    }  # fmt: skip
    return {**base, **changes}


def test_a_failed_delivery_leads_with_its_error() -> None:
    second = render_detail(_detail()).splitlines()[1]
    assert second == "✗ booking HTTP -: vat_rate 8.5: not in the shop's mapping (0 attempts)"


def test_a_delivered_delivery_says_delivered_not_none() -> None:
    attempt = {"at": 1_773_489_600.0, "outcome": "delivered", "http_status": 201, "message": None, "response": "{}"}
    delivered = _detail(state="delivered", error_class=None, message=None, attempts=[attempt])
    second = render_detail(delivered).splitlines()[1]
    assert second == "✓ delivered (1 attempts)"
    assert "None" not in render_detail({**delivered, "attempts": []}).splitlines()[1]
