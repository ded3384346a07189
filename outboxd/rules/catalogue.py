"""The accounts and journals a mapping books tickets on, built once per effective mapping (not once per ticket).

``ShopMapping.catalogue`` holds one; keep the effective mapping between events (rebuild it when the shop's
reference changes) and every ticket is a handful of dictionary look-ups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from outboxd.contract.models import LineKind
from outboxd.rules.accounts import counter_customer_account, sales_account, vat_account
from outboxd.rules.entries import JournalSpec, LedgerAccount
from outboxd.rules.journals import journal_for

if TYPE_CHECKING:
    from outboxd.rules.mapping import ShopMapping

__all__ = ["Catalogue", "build_catalogue"]

_KINDS: tuple[LineKind, ...] = ("goods", "service", "other")


@dataclass(frozen=True, slots=True)
class Catalogue:
    """``sales[(kind, rate, chapter or None)]``, ``vat[rate]``, the counter customer, journals of known registers."""

    sales: dict[tuple[str, int, str | None], LedgerAccount]
    vat: dict[int, LedgerAccount]
    counter_customer: LedgerAccount
    journals: dict[str, JournalSpec]


def build_catalogue(mapping: ShopMapping) -> Catalogue:
    sales: dict[tuple[str, int, str | None], LedgerAccount] = {}
    chapters = sorted({*mapping.chapters, *mapping.chapter_accounts}) if mapping.use_chapters else []
    for rate in mapping.vat_rates:
        for kind in _KINDS:
            sales[kind, rate, None] = sales_account(mapping, kind, rate, None)
            for chapter in chapters:
                sales[kind, rate, chapter] = sales_account(mapping, kind, rate, chapter)
    return Catalogue(
        sales=sales,
        vat={rate: vat_account(mapping, rate) for rate in mapping.vat_rates},
        counter_customer=counter_customer_account(mapping),
        journals={rid: journal_for(rid, mapping.registers.get(rid), mapping.journals) for rid in mapping.journals},
    )
