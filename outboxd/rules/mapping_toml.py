"""The TOML form of a shop's mapping, read and checked: types, known keys, account syntax, rates; every error a
ConfigError naming its dotted key (``shops.boutique-1.mapping.payment_methods.tr``) and what to write instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from outboxd.exceptions import ConfigError
from outboxd.money import format_rate, parse_rate
from outboxd.rules.journals import JOURNAL_CODE
from outboxd.rules.kinds import CUSTOMER_MODES, PAYMENT_KINDS, SALES_KINDS

if TYPE_CHECKING:
    from outboxd.rules.mapping import ShopMapping

__all__ = ["MappingReader", "read_mapping"]

_ACCOUNT = re.compile(r"[0-9][0-9A-Z]{1,19}")
_PIECE_PREFIX = re.compile(r"[0-9A-Za-z_-]{0,16}")


def read_mapping(data: Mapping[str, Any], key_prefix: str, mapping: type[ShopMapping]) -> ShopMapping:
    """A TOML-decoded mapping table as a ``mapping`` (the ShopMapping class, handed over by its ``from_dict``: this
    module is imported by it); missing keys keep their default. Raises ConfigError."""
    return MappingReader(key_prefix).read(data, mapping)


class MappingReader:
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

    def read(self, data: Mapping[str, Any], mapping: type[ShopMapping]) -> ShopMapping:
        d = mapping()
        top = self.table(data, "", tuple(d.to_dict()))
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
        return mapping(
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
