"""The delivery detail's text: an error for a failed delivery (with where to fix it), a plain outcome for a delivered
one with its entries' Pennylane ids, Pennylane's answer pretty-printed, and outbox data never as escapes or markup."""

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


def test_a_failed_delivery_says_how_to_fix_then_its_error_never_sent_to_pennylane() -> None:
    first, _, third = render_detail(_detail(), "/etc/outboxd/outboxd.toml").splitlines()[:3]
    assert first.startswith("how to fix: edit the configuration file /etc/outboxd/outboxd.toml")
    assert third == "✗ booking, not sent to Pennylane: vat_rate 8.5: not in the shop's mapping (0 attempts)"


def test_a_delivered_delivery_says_delivered_and_shows_the_pennylane_id() -> None:
    attempt = {"at": 1_773_489_600.0, "outcome": "delivered", "http_status": 201, "error_class": None, "message": None,
               "response": '{"id": 4242, "piece_number": "T-1"}'}  # fmt: skip
    entry = {"piece_number": "T-1", "journal": "VT01", "date": "2026-03-14", "state": "posted", "pennylane_id": 4242,
             "lines": [{"account": "530001", "label": "Ticket T-1", "debit": "1.00", "credit": "0.00"}]}  # fmt: skip
    delivered = _detail(state="delivered", error_class=None, message=None, attempts=[attempt], entries=[entry])
    text = render_detail(delivered, "/etc/outboxd/outboxd.toml")
    assert text.splitlines()[1] == "✓ delivered (1 attempt)"
    assert "how to fix" not in text
    assert "T-1  journal VT01  2026-03-14  ✓ booked, Pennylane id 4242" in text
    assert '      "id": 4242,' in text.splitlines()  # the answer's JSON, one key a line
    assert "None" not in text


def test_control_characters_in_the_payload_are_shown_escaped() -> None:
    text = render_detail(_detail(shop_id="s1\x1b[2J[/]", payload={"label": "a\u202eb\x07"}))
    assert not {"\x1b", "\u202e", "\x07"} & set(text)
    assert "s1\\u001b[2J[/]" in text
