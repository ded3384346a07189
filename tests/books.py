"""What the rules engine alone says a shop's books must hold, to compare with the simulator's: each piece_number
and the trial balance per account, every customer's own 411 account summed as one '411*' (Pennylane numbers them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from outboxd.contract import ReferenceUpdated, parse_event
from outboxd.delivery.lane import Lane
from outboxd.rules import LedgerAccount, ShopMapping, book

Balance = dict[str, tuple[int, int]]
"""account number -> (debit, credit) in cents."""


@dataclass
class Expected:
    pieces: Counter[str]
    balance: Balance


def expected_books(rows: Iterable[Mapping[str, Any]], mapping: ShopMapping, shop_id: str) -> Expected:
    """Book the rows in order as a fresh lane would (each reference snapshot applied when its row comes)."""
    lane = Lane(shop_id, mapping, concurrency=1)
    totals: Counter[tuple[str, str]] = Counter()
    pieces: Counter[str] = Counter()
    for row in rows:
        event = parse_event(dict(row))
        if isinstance(event.payload, ReferenceUpdated):
            lane.set_reference(event.payload)
        for entry in book(event, lane.mapping()).entries:
            pieces[entry.piece_number] += 1
            for line in entry.lines:
                number = line.account.number if isinstance(line.account, LedgerAccount) else "411*"
                totals[(number, "d")] += line.debit
                totals[(number, "c")] += line.credit
    return Expected(pieces, folded({n: (totals[(n, "d")], totals[(n, "c")]) for n, _ in totals}))


def net(balance: Mapping[str, tuple[int, int]]) -> dict[str, int]:
    """Debit minus credit per account, zero balances left out: what a daily entry must keep of the detailed books
    (with ``customers = "on_account"`` a ticket settled within its day books no customer line at all)."""
    return {number: debit - credit for number, (debit, credit) in balance.items() if debit != credit}


def folded(balance: Mapping[str, tuple[int, int]]) -> Balance:
    """Customer sub-accounts (411...) summed as one '411*'; empty accounts left out."""
    out: Counter[tuple[str, str]] = Counter()
    for number, (debit, credit) in balance.items():
        key = "411*" if number.startswith("411") else number
        out[(key, "d")] += debit
        out[(key, "c")] += credit
    return {n: (out[(n, "d")], out[(n, "c")]) for n, _ in out if out[(n, "d")] or out[(n, "c")]}
