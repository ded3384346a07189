"""How control API values read to a person, shared by ``outboxd ctl`` and the TUI (pure, no I/O).

States always carry a word and a symbol, never only a colour, so a monochrome terminal reads the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["HOLDS_SHOP", "age", "blocked_label", "connection_label", "duration", "held_label", "table", "timestamp"]

CONNECTION_LABELS = {
    "connected": "✓ connected",
    "reconnect_needed": "✗ reconnect needed",
    "disconnected": "- disconnected",
    "pending": "… pending",
}

HOLDS_SHOP = "✗ holds the shop: "
"""Before the message of the failed reference snapshot that every later event of its shop waits behind."""


def duration(seconds: float | None) -> str:
    """``42s``, ``5m``, ``3h20m``, ``2d4h``: short enough for a table column."""
    if seconds is None:
        return "-"
    whole = int(max(seconds, 0))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s" if whole < 600 else f"{whole // 60}m"
    if whole < 86_400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86_400}d{whole % 86_400 // 3600}h"


def age(seconds: float | None) -> str:
    """An age as ``5m ago``; ``-`` when there is nothing to age."""
    return "-" if seconds is None else f"{duration(seconds)} ago"


def timestamp(unix: float | None) -> str:
    """Unix seconds as local ``YYYY-MM-DD HH:MM``."""
    if unix is None:
        return "-"
    return dt.datetime.fromtimestamp(unix).strftime("%Y-%m-%d %H:%M")


def connection_label(connection: Mapping[str, Any], now: float) -> str:
    """``✓ connected, Company (expires in 20d0h)`` or ``✗ reconnect needed``."""
    state = connection.get("state") or "disconnected"
    label = CONNECTION_LABELS.get(state, state)
    if state != "connected":
        return label
    parts = [label]
    if connection.get("company_name"):
        parts.append(str(connection["company_name"]))
    if connection.get("expires_at"):
        parts.append(f"expires in {duration(connection['expires_at'] - now)}")
    elif connection.get("kind") == "api_token":
        parts.append("API token")
    return ", ".join(parts)


def _events(n: int) -> str:
    return f"{n} event waits" if n == 1 else f"{n} events wait"


def held_label(held: Mapping[str, Any] | None) -> str:
    """``✗ held: reference snapshot #12 failed, 140 events wait behind it`` (a status's ``held_by_reference``);
    empty when the shop is not held."""
    if not held:
        return ""
    return f"✗ held: reference snapshot #{held['id']} failed, {_events(held['waiting'])} behind it"


def blocked_label(detail: Mapping[str, Any], shown: int = 10) -> str:
    """What waits behind a delivery (a ``DeliveryDetail``), in words; empty when nothing does."""
    ids, total = detail["blocked"], detail["blocked_total"]
    first = ", ".join(map(str, ids[:shown])) + (", …" if total > shown else "")
    if detail["holds_shop"]:
        waiting = f"{_events(total)} behind it (first: {first})" if total else "nothing waits behind it yet"
        return f"✗ holds the whole shop {detail['shop_id']}: {waiting}"
    return f"⏸ {_events(total)} behind it: {first}" if total else ""


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned text table (numbers right-aligned) for terminals and logs."""
    cells = [[str(c) for c in headers], *[["-" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [
        all(isinstance(r[i], int | float) and not isinstance(r[i], bool) for r in rows) for i in range(len(headers))
    ]
    lines = []
    for row in cells:
        padded = [
            c.rjust(w) if numeric[i] and rows else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)
