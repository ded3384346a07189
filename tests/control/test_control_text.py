"""The words shared by ``outboxd ctl`` and the TUI for what waits behind a delivery and for a held shop."""

from __future__ import annotations

from typing import Any

from outboxd.control.text import blocked_label, held_label


def _detail(blocked: list[int], total: int, *, holds_shop: bool) -> dict[str, Any]:
    return {"shop_id": "s1", "blocked": blocked, "blocked_total": total, "holds_shop": holds_shop}


def test_what_waits_behind_a_delivery_is_said_in_words_and_long_lists_are_cut() -> None:
    assert blocked_label(_detail([], 0, holds_shop=False)) == ""
    assert blocked_label(_detail([7], 1, holds_shop=False)) == "⏸ 1 event waits behind it: 7"
    many = list(range(10, 110))
    assert blocked_label(_detail(many, 4000, holds_shop=True), shown=3) == (
        "✗ holds the whole shop s1: 4000 events wait behind it (first: 10, 11, 12, …)"
    )
    assert blocked_label(_detail([], 0, holds_shop=True)) == "✗ holds the whole shop s1: nothing waits behind it yet"


def test_a_held_shop_names_its_reference_snapshot_and_how_many_wait() -> None:
    assert held_label(None) == ""
    assert held_label({"id": 12, "waiting": 1, "message": "x"}) == (
        "✗ held: reference snapshot #12 failed, 1 event waits behind it"
    )
