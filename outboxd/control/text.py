"""How control API values read to a person, shared by ``outboxd ctl`` and the TUI (pure, no I/O).

States always carry a word and a symbol, never only a colour, so a monochrome terminal reads the same. Outbox data
(ids, names, labels) is shown through :func:`printable`: a control character or a bidi mark in it reaches the
terminal as visible ``\\u001b`` text, never as an escape sequence or a reordering of the line.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

from outboxd.control.shapes import Connection, DeliveryDetail, HeldByReference, Lettering, Status

__all__ = [
    "HOLDS_SHOP",
    "age",
    "blocked_label",
    "connection_label",
    "delivery_text",
    "duration",
    "failed_deliveries",
    "held_label",
    "http_label",
    "in_pennylane",
    "plural",
    "printable",
    "status_page",
    "table",
    "timestamp",
]

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")

CONNECTION_LABELS = {
    "connected": "✓ connected",
    "reconnect_needed": "✗ reconnect needed",
    "disconnected": "- disconnected",
    "pending": "… pending",
}

HOLDS_SHOP = "✗ holds the shop: "
"""Before the message of the failed reference snapshot that every later event of its shop waits behind."""


def printable(text: object, *, lines: bool = False) -> str:
    """``text`` with every C0/C1 control character and bidi mark written as ``\\uXXXX``; ``lines`` keeps line breaks
    and tabs (a whole block of output), else they are escaped too (one value: a cell, a label)."""
    pattern = _LINE_BREAKS if lines else _UNPRINTABLE
    return pattern.sub(lambda m: f"\\u{ord(m.group()):04x}", str(text))


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 shop``, ``2 shops``; ``words`` for an irregular plural."""
    return f"{n} {word if n == 1 else words or word + 's'}"


def in_pennylane(exists: bool) -> str:
    """A mapped journal or account: ``✓ yes`` once the bridge has seen it in Pennylane, else it is created there the
    first time something is booked on it (not an error: ``✗`` would send the operator looking for a fault)."""
    return "✓ yes" if exists else "… on first use"


def failed_deliveries(n: int) -> str:
    """``1 failed delivery``, ``3 failed deliveries``."""
    return plural(n, "failed delivery", "failed deliveries")


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


def connection_label(connection: Connection, now: float) -> str:
    """``✓ connected, Company (expires in 20d0h)`` or ``✗ reconnect needed``."""
    state = connection.get("state") or "disconnected"
    label = CONNECTION_LABELS.get(state, state)
    if state != "connected":
        return label
    parts = [label]
    if connection.get("company_name"):
        parts.append(str(connection["company_name"]))
    if expires := connection.get("expires_at"):
        parts.append(f"expires in {duration(expires - now)}")
    elif connection.get("kind") == "api_token":
        parts.append("API token")
    return ", ".join(parts)


def _events(n: int) -> str:
    return f"{n} event waits" if n == 1 else f"{n} events wait"


def status_page(status: Status) -> str:
    """Which shops a status page shows, of how many, and every shop's totals: ``shops 51-100 of 10,000 (312 matching);
    queue 1,204, failed 3, paused 2``."""
    t, first, shown = status["totals"], status["offset"], len(status["shops"])
    page = f"shops {first + 1:,}-{first + shown:,}" if shown else "no shop"
    matched = f" ({t['matched']:,} matching)" if t["matched"] != t["shops"] else ""
    totals = f"queue {t['queue_depth']:,}, failed {t['failed']:,}, paused {t['paused']:,}"
    return f"{page} of {t['shops']:,}{matched}; {totals}"


def held_label(held: HeldByReference | None) -> str:
    """``✗ held: reference snapshot #12 failed, 140 events wait behind it`` (a status's ``held_by_reference``);
    empty when the shop is not held."""
    if not held:
        return ""
    return f"✗ held: reference snapshot #{held['id']} failed, {_events(held['waiting'])} behind it"


def blocked_label(detail: DeliveryDetail, shown: int = 10) -> str:
    """What waits behind a delivery (a ``DeliveryDetail``), in words; empty when nothing does."""
    ids, total = detail["blocked"], detail["blocked_total"]
    first = ", ".join(map(str, ids[:shown])) + (", …" if total > shown else "")
    if detail["holds_shop"]:
        waiting = f"{_events(total)} behind it (first: {first})" if total else "nothing waits behind it yet"
        return f"✗ holds the whole shop {detail['shop_id']}: {waiting}"
    return f"⏸ {_events(total)} behind it: {first}" if total else ""


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned text table (numbers right-aligned) for terminals and logs."""
    cells = [[str(c) for c in headers], *[["-" if c is None else printable(c) for c in row] for row in rows]]
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


REFUSED_HERE = ("contract", "booking")
"""Error classes decided by the bridge before any request: Pennylane never saw the event."""
ENTRY_STATES = {
    "posted": "✓ booked",
    "unknown": "? outcome unknown (checked before any resend)",
    "not_sent": "not sent",
}


def http_label(status: int | None, error_class: str | None, *, short: bool = False) -> str:
    """Pennylane's HTTP status, or why there is none: the bridge refused the event before any request (``not sent``),
    or no answer came (a timeout, a connection cut). ``short`` for a table column."""
    if status is not None:
        return str(status) if short else f"HTTP {status}"
    if error_class in REFUSED_HERE:
        return "not sent" if short else "not sent to Pennylane"
    return "no answer" if short else "no answer from Pennylane"


def _answer(response: Any) -> list[str]:
    """Pennylane's answer, indented; a JSON body (the API gives it as text) pretty-printed; nothing when none came."""
    if response is None or response == "":
        return []
    try:
        body = json.loads(response) if isinstance(response, str) else response
    except ValueError:
        body = response
    text = body if isinstance(body, str) else json.dumps(body, indent=2, ensure_ascii=False)
    return ["  Pennylane answered:", *(f"    {line}" for line in text.splitlines())]


def _outcome(d: DeliveryDetail) -> str:
    tries = plural(len(d["attempts"]), "attempt")
    if d["error_class"] is None:
        return f"✓ {d['state']} ({tries})" if d["state"] == "delivered" else f"{d['state']} ({tries})"
    return f"✗ {d['error_class']}, {http_label(d['http_status'], d['error_class'])}: {d['message']} ({tries})"


def _lettering(lettering: Lettering) -> list[str]:
    """The order's lettering: its state and each customer line (docs/accounting.md, "Lettering")."""
    tries = plural(lettering["attempts"], "attempt")
    error = f": {lettering['last_error']}" if lettering["last_error"] else ""
    rows = [[ln["piece_number"], ln["amount"], str(ln["line_id"] or "-"), "✓" if ln["lettered"] else ""]
            for ln in lettering["lines"]]  # fmt: skip
    head = f"order {lettering['order_id']}: {lettering['state']} ({tries}){error}"
    return [head, table(["piece", "amount", "line id", "lettered"], rows)]


def delivery_text(d: DeliveryDetail) -> str:
    """A ``DeliveryDetail`` as sections: what it is and how it ended, its entries (with their Pennylane ids), the
    attempts with Pennylane's answers, then the event's payload (long: last)."""
    parts = [
        f"delivery {d['id']} ({d['state']}): {d['event_type']} {d['aggregate_id']} of shop {d['shop_id']}, "
        f"business date {d['business_date'] or '-'}",
        _outcome(d),
        *filter(None, [blocked_label(d)]),
        "",
        "── entries ──",
    ]
    for entry in d["entries"]:
        state = ENTRY_STATES.get(entry["state"], entry["state"])
        booked = f", Pennylane id {entry['pennylane_id']}" if entry.get("pennylane_id") else ""
        parts.append(f"{entry['piece_number']}  journal {entry['journal']}  {entry['date']}  {state}{booked}")
        rows = [[ln["account"], ln["label"], ln["debit"], ln["credit"]] for ln in entry["lines"]]
        parts += [table(["account", "label", "debit", "credit"], rows), ""]
    parts.append("── attempts ──")
    for a in d["attempts"]:
        said = f"  {a['message']}" if a["message"] else ""
        parts.append(f"{timestamp(a['at'])}  {a['outcome']}  {http_label(a['http_status'], a['error_class'])}{said}")
        parts += _answer(a["response"])
    if not d["attempts"]:
        parts.append("none yet")
    if (lettering := d.get("lettering")) is not None:
        parts += ["", "── lettering ──", *_lettering(lettering)]
    parts += ["", "── payload ──", json.dumps(d["payload"], indent=2, ensure_ascii=False)]
    return printable("\n".join(parts), lines=True)
