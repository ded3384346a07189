"""The trial balance a shop's outbox rows must leave, read from the contract's figures alone: a second reading of
ACCOUNTING.md's default mapping that never calls the rules engine, to check the engine and the daemon against.

- A ticket: D the customer by its total; per printed rate, C the printed VAT on ``44571`` + rate code and C the
  printed base, shared between the rate's sales accounts (the kind's ``707``/``706``/``708`` + rate code; with
  chapters on, the chapter's account + rate code; ``4191`` for a gift card) in proportion to their lines' amounts,
  the cents left to the largest remainders (ties: the larger amount, then the account met last on the ticket).
- A payment: D the account of its method's kind (cash: ``530`` + the register's number), C the customer.
- A closing: D and C ``580000`` by the sales total (a memo); a cash difference D ``658000`` / C the method's
  account (shortage) or D the method's account / C ``758000`` (surplus).
A negative amount swaps the sides. Every customer account (``411000`` and each customer's own) counts as ``411*``,
as ``books.folded`` does. Only tickets with a printed breakdown (Kash.Click always prints one).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

__all__ = ["trial_balance_from_events"]

Balance = dict[str, tuple[int, int]]

_SALES = {"goods": "707", "service": "706", "other": "708"}
_METHOD_KINDS = {"card": "5115", "cheque": "5112", "transfer": "5117", "voucher": "5116", "gift_card": "4191",
                 "other": "4718"}  # fmt: skip
_CUSTOMER = "411*"


def _cents(text: str) -> int:
    return int(Decimal(text) * 100)


def _code(rate: str) -> str:
    """``"5.5"`` -> ``"055"``: the rate in tenths of a percent on three digits."""
    return f"{int(Decimal(rate) * 10):03d}"


class _Ledger:
    def __init__(self) -> None:
        self.sides: Counter[tuple[str, int]] = Counter()

    def post(self, account: str, amount: int, *, debit: bool) -> None:
        """``amount`` on its natural side (``debit``), a negative one on the other side."""
        self.sides[account, 0 if (amount > 0) == debit else 1] += abs(amount)

    def balance(self) -> Balance:
        pairs = {account: (self.sides[account, 0], self.sides[account, 1]) for account, _ in sorted(self.sides)}
        return {account: pair for account, pair in pairs.items() if any(pair)}


def _shares(total: int, weights: list[int]) -> list[int]:
    """``total`` in proportion to ``weights`` (all of one sign), largest remainder, ties to the larger weight,
    then the later one."""
    whole = sum(weights)
    exact = [Fraction(abs(total) * weight, whole) for weight in weights]
    floors = [int(share) for share in exact]
    ranked = sorted(range(len(weights)), key=lambda i: (exact[i] - floors[i], abs(weights[i]), i), reverse=True)
    for i in ranked[: abs(total) - sum(floors)]:
        floors[i] += 1
    return [share if total >= 0 else -share for share in floors]


def _ticket(ledger: _Ledger, order: Mapping[str, Any], chapters: Mapping[str, str] | None) -> None:
    """``chapters``: chapter id -> account when chapters are on in the reference, else None."""
    ledger.post(_CUSTOMER, _cents(order["total_incl_tax"]), debit=True)
    by_rate: dict[str, dict[str, int]] = {}
    for line in order["lines"]:
        rate = line["vat_rate"]
        if line["kind"] == "gift_card":
            account = "4191"
        elif chapters is not None and line["chapter"] is not None:
            account = chapters[line["chapter"]] + _code(rate)
        else:
            account = _SALES[line["kind"]] + _code(rate)
        accounts = by_rate.setdefault(_code(rate), {})
        accounts[account] = accounts.get(account, 0) + _cents(line["total_incl_tax"])
    if order.get("vat_breakdown") is None:
        raise ValueError(f"ticket {order['number']}: no printed VAT breakdown")
    for row in order["vat_breakdown"]:
        accounts = by_rate[_code(row["rate"])]
        for account, base in zip(accounts, _shares(_cents(row["base"]), list(accounts.values())), strict=True):
            ledger.post(account, base, debit=False)
        ledger.post("44571" + _code(row["rate"]), _cents(row["vat"]), debit=False)


def _method_account(kinds: Mapping[str, str], method_id: str, register_id: str) -> str:
    kind = kinds[method_id]
    if kind == "cash":
        number = re.search(r"[0-9]{1,3}$", register_id)
        assert number is not None, register_id
        return "530" + number.group()
    return _METHOD_KINDS[kind]


def trial_balance_from_events(rows: Iterable[Mapping[str, Any]]) -> Balance:
    """Account number -> (debit, credit) in cents, after every row in outbox order."""
    ledger = _Ledger()
    kinds: dict[str, str] = {}
    chapters: dict[str, str] | None = None
    for row in rows:
        payload = row["payload"]
        kind = row["event_type"]
        if kind == "reference.updated":
            kinds = {method["id"]: method["kind"] for method in payload["payment_methods"]}
            on = payload.get("chapters_enabled", False)
            chapters = {chapter["id"]: chapter["account"] for chapter in payload["chapters"]} if on else None
        elif kind == "order.recorded":
            _ticket(ledger, payload, chapters)
        elif kind == "payment.recorded":
            amount = _cents(payload["amount"])
            ledger.post(_method_account(kinds, payload["method_id"], payload["register_id"]), amount, debit=True)
            ledger.post(_CUSTOMER, amount, debit=False)
        elif kind == "register.closed":
            total = _cents(payload["sales_total_incl_tax"])
            ledger.post("580000", total, debit=True)
            ledger.post("580000", total, debit=False)
            for receipt in payload["receipts"]:
                gap = _cents(receipt["counted"]) - _cents(receipt["expected"])
                method = _method_account(kinds, receipt["method_id"], payload["register_id"])
                ledger.post(method if gap > 0 else "658000", abs(gap), debit=True)
                ledger.post("758000" if gap > 0 else method, abs(gap), debit=False)
    return ledger.balance()
