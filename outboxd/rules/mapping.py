"""A shop's mapping from POS concepts to PCG accounts: the defaults, written once, and their TOML form.

``ShopMapping()`` is the French default of ../docs/accounting.md; ``config/mapping.fr.toml`` spells the same
values out. ``from_dict`` validates a TOML-decoded table (unknown keys are errors, every error names its dotted
key), ``merge`` lays a per-shop section over the global one, and ``effective_mapping`` adds what the shop's
latest ``reference.updated`` says (registers, payment methods and their kind, chapters).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from outboxd.contract.models import PaymentMethodKind, ReferenceUpdated
from outboxd.money import format_rate
from outboxd.rules.catalogue import Catalogue, build_catalogue
from outboxd.rules.journals import assign_journal_codes
from outboxd.rules.kinds import CUSTOMER_MODES, PAYMENT_KINDS, SALES_KINDS, CustomerMode
from outboxd.rules.mapping_toml import read_mapping

__all__ = [
    "CUSTOMER_MODES",
    "PAYMENT_KINDS",
    "SALES_KINDS",
    "CustomerMode",
    "MethodInfo",
    "ShopMapping",
    "effective_mapping",
    "merge_tables",
]



@dataclass(frozen=True, slots=True)
class MethodInfo:
    """A payment method as the reference describes it."""

    label: str
    kind: PaymentMethodKind




def _kind_defaults() -> dict[str, str]:
    return {
        "cash": "530",
        "card": "5115",
        "cheque": "5112",
        "transfer": "5117",
        "voucher": "5116",
        "gift_card": "4191",
        "other": "4718",
    }


@dataclass(frozen=True)
class ShopMapping:
    """Every account and option the rules engine reads. The defaults here are the only place they live.

    Per-rate accounts are the shop's own where ``sales_accounts[kind][rate]`` / ``vat_accounts[rate]`` name them,
    else a base plus the 3-digit rate code (``707`` + ``200`` = ``707200``); the cash account is
    ``payment_kinds["cash"]`` plus the register's number (``5301``) unless ``cash_accounts`` names it. Gift cards
    sold and spent both land on ``payment_kinds["gift_card"]`` (4191, a liability).
    The last four fields come from ``reference.updated`` through ``effective_mapping``, never from the config.
    """

    sales_goods: str = "707"
    sales_service: str = "706"
    sales_other: str = "708"
    sales_accounts: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    vat_collected: str = "44571"
    vat_accounts: Mapping[int, str] = field(default_factory=dict)
    vat_rates: tuple[int, ...] = (200, 100, 55, 21, 0)
    vat_codes: Mapping[int, str] = field(default_factory=dict)
    counter_customer: str = "411000"
    customers: CustomerMode = "on_account"
    payment_kinds: Mapping[str, str] = field(default_factory=_kind_defaults)
    payment_methods: Mapping[str, str] = field(default_factory=dict)
    cash_accounts: Mapping[str, str] = field(default_factory=dict)
    cash_shortage: str = "658000"
    cash_surplus: str = "758000"
    closing_entry: bool = True
    closing_sales: str = "580000"
    closing_receipts: str = "580000"
    chapters_enabled: bool = True
    chapter_rate_suffix: bool = True
    chapter_accounts: Mapping[str, str] = field(default_factory=dict)
    journals: Mapping[str, str] = field(default_factory=dict)
    piece_prefix: str = ""
    lettering: bool = True
    registers: Mapping[str, str] = field(default_factory=dict)
    methods: Mapping[str, MethodInfo] = field(default_factory=dict)
    chapters: Mapping[str, str] = field(default_factory=dict)
    reference_chapters_enabled: bool = False

    @property
    def use_chapters(self) -> bool:
        """Chapters replace the kind-based sales account when both Kash.Click and the config turn them on."""
        return self.chapters_enabled and self.reference_chapters_enabled

    @cached_property
    def catalogue(self) -> Catalogue:
        """The accounts and journals tickets book on, built on first use (a memo, not configuration)."""
        return build_catalogue(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, key_prefix: str = "mapping") -> ShopMapping:
        """Validate a TOML-decoded mapping table; missing keys keep their default. Raises ConfigError."""
        return read_mapping(data, key_prefix, cls)

    def to_dict(self) -> dict[str, Any]:
        """The TOML form of the configurable part (what ``from_dict`` reads back to an equal mapping)."""
        return {
            "counter_customer": self.counter_customer,
            "customers": self.customers,
            "vat_rates": [format_rate(rate) for rate in self.vat_rates],
            "sales": {
                "goods": self.sales_goods,
                "service": self.sales_service,
                "other": self.sales_other,
                "accounts": {kind: _by_rate(numbers) for kind, numbers in self.sales_accounts.items()},
            },
            "vat": {
                "collected": self.vat_collected,
                "accounts": _by_rate(self.vat_accounts),
                "codes": _by_rate(self.vat_codes),
            },
            "payment_kinds": dict(self.payment_kinds),
            "payment_methods": dict(self.payment_methods),
            "cash_accounts": dict(self.cash_accounts),
            "cash_difference": {"shortage": self.cash_shortage, "surplus": self.cash_surplus},
            "closing": {
                "global_entry": self.closing_entry,
                "general_sales": self.closing_sales,
                "general_receipts": self.closing_receipts,
            },
            "chapters": {
                "enabled": self.chapters_enabled,
                "rate_suffix": self.chapter_rate_suffix,
                "accounts": dict(self.chapter_accounts),
            },
            "journals": dict(self.journals),
            "piece_number": {"prefix": self.piece_prefix},
            "lettering": self.lettering,
        }

    def merge(self, overrides: Mapping[str, Any], *, key_prefix: str = "mapping") -> ShopMapping:
        """This mapping with a per-shop section laid over it: tables merge key by key, other values replace."""
        ShopMapping.from_dict(overrides, key_prefix=key_prefix)  # errors name the shop's own keys
        return ShopMapping.from_dict(merge_tables(self.to_dict(), overrides), key_prefix=key_prefix)


def _by_rate(values: Mapping[int, str]) -> dict[str, str]:
    return {format_rate(rate): value for rate, value in values.items()}


def merge_tables(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep merge of two TOML tables: ``overrides`` wins key by key, sub-tables merge recursively."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_tables(merged[key], value)
        else:
            merged[key] = value
    return merged


def effective_mapping(mapping: ShopMapping, reference: ReferenceUpdated | None) -> ShopMapping:
    """The mapping completed with the shop's latest reference data (None: nothing received yet)."""
    if reference is None:
        return mapping
    return dataclasses.replace(
        mapping,
        registers={register.id: register.name for register in reference.registers},
        methods={method.id: MethodInfo(method.label, method.kind) for method in reference.payment_methods},
        chapters={chapter.id: chapter.account for chapter in reference.chapters},
        reference_chapters_enabled=reference.chapters_enabled,
        journals=assign_journal_codes(reference.registers, mapping.journals),
    )
