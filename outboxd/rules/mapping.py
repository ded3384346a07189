"""A shop's mapping from POS concepts to PCG accounts: the defaults, written once, and their TOML form.

``ShopMapping()`` is the French default of ../docs/accounting.md; ``config/mapping.fr.toml`` spells the same
values out. ``from_dict`` validates a TOML-decoded table (unknown keys are errors, every error names its dotted
key), ``merge`` lays a per-shop section over the global one, and ``effective_mapping`` adds what the shop's
latest ``reference.updated`` says (registers, payment methods and their kind, chapters).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from outboxd.contract.models import PaymentMethodKind, ReferenceUpdated
from outboxd.exceptions import ConfigError
from outboxd.money import format_rate, parse_rate
from outboxd.rules.catalogue import Catalogue, build_catalogue
from outboxd.rules.journals import JOURNAL_CODE, assign_journal_codes

__all__ = [
    "CUSTOMER_MODES",
    "PAYMENT_KINDS",
    "CustomerMode",
    "MethodInfo",
    "ShopMapping",
    "effective_mapping",
    "merge_tables",
]

PAYMENT_KINDS: tuple[PaymentMethodKind, ...] = ("cash", "card", "cheque", "transfer", "voucher", "gift_card", "other")
SALES_KINDS = ("goods", "service", "other")
_ACCOUNT = re.compile(r"[0-9][0-9A-Z]{1,19}")
_PIECE_PREFIX = re.compile(r"[0-9A-Za-z_-]{0,16}")
CUSTOMER_MODES: tuple[CustomerMode, ...] = ("all", "on_account", "none")


@dataclass(frozen=True, slots=True)
class MethodInfo:
    """A payment method as the reference describes it."""

    label: str
    kind: PaymentMethodKind


CustomerMode = Literal["all", "on_account", "none"]
"""Which tickets book on the customer's own 411 account: every ticket with a customer (``all``); in daily
booking, only those the customer leaves owing (``on_account``: a paid ticket books no 411 line and pushes no
personal data; detailed booking cannot know and books as ``all``); none (``none``: the counter customer)."""


def _kind_defaults() -> dict[str, str]:
    return {"cash": "530", "card": "5115", "cheque": "5112", "transfer": "5117", "voucher": "5116",
            "gift_card": "4191", "other": "4718"}


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
        return _Reader(key_prefix).read(data)

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
        _Reader(key_prefix).read(overrides)  # errors name the shop's own keys
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


class _Reader:
    """Walks a TOML table, checking types and unknown keys, with the dotted path at hand for errors."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def fail(self, key: str, reason: str) -> ConfigError:
        return ConfigError(f"{self.prefix}.{key}" if self.prefix else key, reason)

    def table(self, data: Any, key: str, known: tuple[str, ...] | None) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            raise self.fail(key, "must be a table") if key else ConfigError(self.prefix, "must be a table")
        for name in data:
            if known is not None and name not in known:
                where = f"{key}.{name}" if key else name
                raise self.fail(where, f"unknown key (known: {', '.join(known)})")
        return data

    def account(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not _ACCOUNT.fullmatch(value):
            raise self.fail(key, f'must be an account number as a string of digits, like "707" (got {value!r})')
        return value

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false (got {value!r})")
        return value

    def rate(self, value: Any, key: str) -> int:
        try:
            return parse_rate(value) if isinstance(value, str) else parse_rate("x")
        except ValueError:
            raise self.fail(key, f'must be a VAT rate in percent as a string, like "5.5" (got {value!r})') from None

    def accounts(self, data: Any, key: str, known: tuple[str, ...] | None = None) -> dict[str, str]:
        table = self.table(data, key, known)
        return {name: self.account(value, f"{key}.{name}") for name, value in table.items()}

    def rate_accounts(self, data: Any, key: str, rates: tuple[int, ...]) -> dict[int, str]:
        """``{"20" = "445711"}``: one account per VAT rate of ``mapping.vat_rates``."""
        found = {}
        for rate_text, number in self.table(data, key, None).items():
            rate = self.rate(rate_text, f"{key}.{rate_text}")
            if rate not in rates:
                raise self.fail(f"{key}.{rate_text}", "this rate is not in mapping.vat_rates: add it there first")
            found[rate] = self.account(number, f"{key}.{rate_text}")
        return found

    def read(self, data: Mapping[str, Any]) -> ShopMapping:
        top = self.table(data, "", tuple(ShopMapping().to_dict()))
        d = ShopMapping()
        sales_table = dict(self.table(top.get("sales", {}), "sales", (*SALES_KINDS, "accounts")))
        by_kind = self.table(sales_table.pop("accounts", {}), "sales.accounts", SALES_KINDS)
        sales = self.accounts(sales_table, "sales", SALES_KINDS)
        vat = self.table(top.get("vat", {}), "vat", ("collected", "accounts", "codes"))
        codes = self.table(vat.get("codes", {}), "vat.codes", None)
        vat_codes = {}
        for rate, code in codes.items():
            if not isinstance(code, str) or not code:
                raise self.fail(f"vat.codes.{rate}", f'must be a Pennylane vat_rate code like "FR_55" (got {code!r})')
            vat_codes[self.rate(rate, f"vat.codes.{rate}")] = code
        raw_rates = top.get("vat_rates", [format_rate(r) for r in d.vat_rates])
        if not isinstance(raw_rates, list) or not raw_rates:
            raise self.fail("vat_rates", 'must be a non-empty list of rates, like ["20", "5.5"]')
        rates = tuple(self.rate(value, f"vat_rates[{i}]") for i, value in enumerate(raw_rates))
        kinds = self.accounts(top.get("payment_kinds", {}), "payment_kinds", PAYMENT_KINDS)
        difference = self.accounts(top.get("cash_difference", {}), "cash_difference", ("shortage", "surplus"))
        closing = self.table(top.get("closing", {}), "closing", ("global_entry", "general_sales", "general_receipts"))
        chapters = self.table(top.get("chapters", {}), "chapters", ("enabled", "rate_suffix", "accounts"))
        journals = self.table(top.get("journals", {}), "journals", None)
        for register_id, code in journals.items():
            if not isinstance(code, str) or not JOURNAL_CODE.fullmatch(code):
                raise self.fail(
                    f"journals.{register_id}", f'must be 2 to 5 capital letters, like "CAIA" (got {code!r})'
                )
        if len(set(journals.values())) != len(journals):
            raise self.fail("journals", "two registers share a journal code")
        piece = self.table(top.get("piece_number", {}), "piece_number", ("prefix",))
        prefix = piece.get("prefix", d.piece_prefix)
        if not isinstance(prefix, str) or not _PIECE_PREFIX.fullmatch(prefix):
            raise self.fail("piece_number.prefix", "must be at most 16 letters, digits, '-' or '_'")
        counter = top.get("counter_customer", d.counter_customer)
        customers = top.get("customers", d.customers)
        if customers not in CUSTOMER_MODES:
            raise self.fail("customers", f"must be one of {', '.join(map(repr, CUSTOMER_MODES))} (got {customers!r})")
        return ShopMapping(
            sales_goods=sales.get("goods", d.sales_goods),
            sales_service=sales.get("service", d.sales_service),
            sales_other=sales.get("other", d.sales_other),
            sales_accounts={
                kind: self.rate_accounts(table, f"sales.accounts.{kind}", rates) for kind, table in by_kind.items()
            },
            vat_accounts=self.rate_accounts(vat.get("accounts", {}), "vat.accounts", rates),
            vat_collected=self.account(vat.get("collected", d.vat_collected), "vat.collected"),
            vat_rates=rates,
            vat_codes=vat_codes,
            counter_customer=self.account(counter, "counter_customer"),
            customers=customers,
            payment_kinds={**d.payment_kinds, **kinds},
            payment_methods=self.accounts(top.get("payment_methods", {}), "payment_methods"),
            cash_accounts=self.accounts(top.get("cash_accounts", {}), "cash_accounts"),
            cash_shortage=difference.get("shortage", d.cash_shortage),
            cash_surplus=difference.get("surplus", d.cash_surplus),
            closing_entry=self.boolean(closing.get("global_entry", d.closing_entry), "closing.global_entry"),
            closing_sales=self.account(closing.get("general_sales", d.closing_sales), "closing.general_sales"),
            closing_receipts=self.account(
                closing.get("general_receipts", d.closing_receipts), "closing.general_receipts"
            ),
            chapters_enabled=self.boolean(chapters.get("enabled", d.chapters_enabled), "chapters.enabled"),
            chapter_rate_suffix=self.boolean(
                chapters.get("rate_suffix", d.chapter_rate_suffix), "chapters.rate_suffix"
            ),
            chapter_accounts=self.accounts(chapters.get("accounts", {}), "chapters.accounts"),
            journals=dict(journals),
            piece_prefix=prefix,
            lettering=self.boolean(top.get("lettering", d.lettering), "lettering"),
        )
