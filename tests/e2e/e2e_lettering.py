"""What lettering must have done, computed from the outbox rows alone: every ticket whose payments add up to it
lettered with exactly those payments, every other ticket open, and every group in the simulator balanced."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from outboxd.money import parse_amount
from outboxd.pennylane_simulator import Sandbox
from outboxd.rules.pieces import order_piece, payment_piece

__all__ = ["lettering_gaps"]


def _expected(rows: Iterable[Mapping[str, Any]]) -> tuple[dict[str, frozenset[str]], set[str]]:
    """(ticket piece -> the pieces lettered with it, for paid tickets; the pieces of tickets left open)."""
    tickets: dict[str, tuple[str, int]] = {}
    payments: dict[str, list[tuple[str, int]]] = {}
    for row in rows:
        payload = row["payload"]
        if row["event_type"] == "order.recorded":
            piece = order_piece("", payload["number"], payload["register_id"])
            tickets[payload["order_id"]] = (piece, parse_amount(payload["total_incl_tax"]))
        elif row["event_type"] == "payment.recorded" and parse_amount(payload["amount"]):
            payments.setdefault(payload["order_id"], []).append(
                (payment_piece("", payload["payment_id"]), parse_amount(payload["amount"]))
            )
    paid, open_ = {}, set()
    for order_id, (piece, total) in tickets.items():
        if not total:
            continue
        its = payments.get(order_id, [])
        if its and sum(amount for _, amount in its) == total:
            paid[piece] = frozenset({piece, *(p for p, _ in its)})
        else:
            open_.add(piece)
    return paid, open_


def lettering_gaps(sandbox: Sandbox, company_id: int, rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """What differs from the expected lettering (empty: all as it should be)."""
    books = sandbox.companies[company_id]
    piece = {line_id: entry.piece_number for line_id, (entry, _) in books.lines.items()}
    groups = {piece[line]: frozenset(piece[i] for i in group) for line, group in books.lettering.items()}
    paid, open_ = _expected(rows)
    gaps = [f"{p}: lettered with {sorted(groups.get(p, ()))}, expected {sorted(want)}"
            for p, want in paid.items() if groups.get(p) != want]  # fmt: skip
    gaps += [f"{p}: lettered though unpaid" for p in open_ if p in groups]
    for group in set(books.lettering.values()):
        if sum(books.lines[i][1].debit - books.lines[i][1].credit for i in group):
            gaps.append(f"unbalanced group {sorted(piece[i] for i in group)}")
    return gaps
