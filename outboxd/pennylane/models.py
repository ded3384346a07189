"""Small typed views of Pennylane resources: only the fields the bridge reads."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from outboxd.money import parse_amount

__all__ = [
    "Address",
    "CreatedCustomer",
    "Customer",
    "FiscalYear",
    "Journal",
    "LedgerAccount",
    "Me",
    "PostedEntry",
    "PostedLine",
]


def _ledger_account_id(item: dict[str, Any]) -> int | None:
    account = item.get("ledger_account")
    return int(account["id"]) if isinstance(account, dict) and account.get("id") is not None else None


@dataclass(frozen=True)
class Me:
    """The company a token is bound to and the scopes it was granted."""

    company_id: int
    company_name: str
    scopes: tuple[str, ...]

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> Me:
        company = body["company"]
        return cls(int(company["id"]), str(company["name"]), tuple(str(s) for s in body.get("scopes") or ()))


@dataclass(frozen=True)
class FiscalYear:
    """``status`` is open, reopen, closed or frozen; entries go only into open or reopened years."""

    id: int
    start: datetime.date
    finish: datetime.date
    status: str

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> FiscalYear:
        return cls(
            int(item["id"]),
            datetime.date.fromisoformat(item["start"]),
            datetime.date.fromisoformat(item["finish"]),
            str(item["status"]),
        )


@dataclass(frozen=True)
class Journal:
    id: int
    code: str
    label: str

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Journal:
        return cls(int(item["id"]), str(item["code"]), str(item["label"]))


@dataclass(frozen=True)
class LedgerAccount:
    id: int
    number: str
    label: str

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> LedgerAccount:
        return cls(int(item["id"]), str(item["number"]), str(item.get("label") or ""))


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    external_reference: str | None
    ledger_account_id: int | None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Customer:
        ref = item.get("external_reference")
        return cls(
            int(item["id"]), str(item.get("name") or ""), None if ref is None else str(ref), _ledger_account_id(item)
        )


@dataclass(frozen=True)
class CreatedCustomer:
    """Pennylane returns only the ledger account id; read its 411 number with ``get_ledger_account``."""

    id: int
    ledger_account_id: int | None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> CreatedCustomer:
        return cls(int(item["id"]), _ledger_account_id(item))


@dataclass(frozen=True)
class Address:
    """A billing address, required by Pennylane for every customer."""

    address: str
    postal_code: str
    city: str
    country_alpha2: str = "FR"

    def to_api(self) -> dict[str, str]:
        return {
            "address": self.address,
            "postal_code": self.postal_code,
            "city": self.city,
            "country_alpha2": self.country_alpha2,
        }


@dataclass(frozen=True)
class PostedLine:
    """One line of a ledger entry as Pennylane holds it: ``amount`` in cents, debit positive."""

    id: int
    account_id: int | None
    amount: int | None
    label: str


@dataclass(frozen=True)
class PostedEntry:
    """A ledger entry as Pennylane holds it: its id and, per ledger account, the ids of its lines there (in order);
    what lettering needs (the 201 of ``POST /ledger_entries`` and ``GET /ledger_entries/{id}`` both carry them).
    ``lines``: each line with its account, amount and label, to tell apart the lines of one account."""

    id: int
    line_ids: dict[int, tuple[int, ...]]
    lines: tuple[PostedLine, ...] = ()

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> PostedEntry:
        lines: dict[int, list[int]] = {}
        posted = []
        for line in body.get("ledger_entry_lines") or ():
            account = line.get("ledger_account_id")
            account_id = int(account) if account is not None else _ledger_account_id(line)
            if account_id is not None:
                lines.setdefault(account_id, []).append(int(line["id"]))
            posted.append(PostedLine(int(line["id"]), account_id, _amount(line), str(line.get("label") or "")))
        return cls(int(body["id"]), {account: tuple(ids) for account, ids in lines.items()}, tuple(posted))


def _amount(line: dict[str, Any]) -> int | None:
    """A line's debit minus its credit, in cents (None: not amounts as Pennylane writes them)."""
    try:
        return parse_amount(str(line.get("debit") or "0")) - parse_amount(str(line.get("credit") or "0"))
    except ValueError:
        return None
