"""A shop's effective mapping as the operator checks it: each journal and account, and whether Pennylane has it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from outboxd.contract.models import LineKind
from outboxd.control.shapes import AccountRole, Mapping, MappingAccount, MappingJournal
from outboxd.money import format_rate
from outboxd.rules import LedgerAccount
from outboxd.rules.accounts import (
    cash_difference_account,
    closing_accounts,
    counter_customer_account,
    method_account,
    sales_account,
    vat_account,
)

if TYPE_CHECKING:
    from outboxd.delivery.lane import Lane
    from outboxd.rules import ShopMapping
    from outboxd.store import Store

__all__ = ["mapping_accounts", "mapping_view"]

_KINDS: tuple[LineKind, ...] = ("goods", "service", "other")


async def mapping_view(store: Store, lane: Lane) -> Mapping:
    """``{"journals": [...], "accounts": [...]}``: a journal or account "exists" once the id cache holds it."""
    shop_id, mapping, caches = lane.shop_id, lane.mapping(), store.caches
    journals: list[MappingJournal] = []
    for register_id in sorted({*mapping.registers, *mapping.journals}):
        cached = await caches.journal(shop_id, register_id)
        code = cached.code if cached else lane.journal_spec(register_id).code
        journals.append({"register_id": register_id, "register_name": mapping.registers.get(register_id),
                         "code": code, "exists": cached is not None})  # fmt: skip
    accounts: list[MappingAccount] = [
        {**account, "exists": await caches.ledger_account(shop_id, account["number"]) is not None}
        for account in mapping_accounts(mapping)
    ]
    return {"journals": journals, "accounts": accounts}


def mapping_accounts(mapping: ShopMapping) -> list[AccountRole]:
    """Every account the mapping books on, with its role; the same set as ``rules.accounts.required_accounts``."""
    rows: dict[str, AccountRole] = {}

    def add(role: str, key: str, account: LedgerAccount, rate: int | None = None) -> None:
        vat_rate = None if rate is None else format_rate(rate)
        rows.setdefault(account.number, {"role": role, "key": key, "number": account.number,
                                         "label": account.label, "vat_rate": vat_rate})  # fmt: skip

    for rate in mapping.vat_rates:
        for kind in _KINDS:
            add("sales", f"{kind} {format_rate(rate)}", sales_account(mapping, kind, rate, None), rate)
        if rate:
            add("vat", format_rate(rate), vat_account(mapping, rate), rate)
        if mapping.use_chapters:
            for chapter in sorted({*mapping.chapters, *mapping.chapter_accounts}):
                add("chapter", chapter, sales_account(mapping, "goods", rate, chapter), rate)
    add("customer", "counter", counter_customer_account(mapping))
    for method_id in sorted({*mapping.methods, *mapping.payment_methods}):
        info = mapping.methods.get(method_id)
        if info is not None and info.kind == "cash" and method_id not in mapping.payment_methods:
            for register_id in sorted(mapping.registers):
                add("payment", f"{method_id} {register_id}", method_account(mapping, method_id, register_id))
        else:
            add("payment", method_id, method_account(mapping, method_id, ""))
    add("difference", "shortage", cash_difference_account(mapping, shortage=True))
    add("difference", "surplus", cash_difference_account(mapping, shortage=False))
    if mapping.closing_entry:
        sales, receipts = closing_accounts(mapping)
        add("closing", "sales", sales)
        add("closing", "receipts", receipts)
    return list(rows.values())
