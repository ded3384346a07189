"""Which ledger account a ticket line, a VAT rate or a payment lands on, read from the shop's mapping.

Anything the mapping cannot answer is a BookingError naming the configuration key that fixes it: the engine
never falls back to a guess.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from outboxd.contract.models import LineKind
from outboxd.exceptions import BookingError
from outboxd.money import format_rate, rate_code
from outboxd.rules.entries import LedgerAccount
from outboxd.rules.vat_codes import default_vat_code

if TYPE_CHECKING:
    from outboxd.rules.mapping import ShopMapping

__all__ = [
    "KIND_LABELS",
    "cash_difference_account",
    "chapter_collisions",
    "check_rate",
    "closing_accounts",
    "counter_customer_account",
    "gift_card_account",
    "method_account",
    "method_label",
    "pennylane_vat_code",
    "required_accounts",
    "sales_account",
    "vat_account",
]

KIND_LABELS: dict[str, str] = {
    "cash": "Caisse",
    "card": "Cartes bancaires à encaisser",
    "cheque": "Chèques à encaisser",
    "transfer": "Virements à recevoir",
    "voucher": "Titres-restaurant à encaisser",
    "gift_card": "Cartes cadeaux en circulation",
    "other": "Autres moyens de paiement (à ventiler)",
}
_SALES_LABELS: dict[str, str] = {
    "goods": "Ventes de marchandises",
    "service": "Prestations de services",
    "other": "Autres ventes",
}
_KINDS: tuple[LineKind, ...] = ("goods", "service", "other")
_REGISTER_NUMBER = re.compile(r"[0-9]{1,3}$")


def check_rate(mapping: ShopMapping, rate: int, where: str) -> None:
    """An unknown VAT rate is refused, not booked on a guessed account."""
    if rate not in mapping.vat_rates:
        raise BookingError(
            f"vat_rate {format_rate(rate)} ({where})",
            "this VAT rate is not in the shop's mapping",
            "add it to mapping.vat_rates",
        )


def pennylane_vat_code(mapping: ShopMapping, rate: int) -> str:
    """Pennylane's ``vat_rate`` code: ``FR_200``, ``FR_55``, ``FR_21``; ``exempt`` for 0 %; the config may override."""
    return mapping.vat_codes.get(rate) or default_vat_code(rate)


def _percent(rate: int) -> str:
    return format_rate(rate).replace(".", ",") + " %"


def gift_card_account(mapping: ShopMapping) -> LedgerAccount:
    """Gift cards in circulation: a liability credited when a card is sold, debited when it is spent; no VAT."""
    return LedgerAccount(mapping.payment_kinds["gift_card"], KIND_LABELS["gift_card"], None)


def sales_account(mapping: ShopMapping, kind: LineKind, rate: int, chapter: str | None) -> LedgerAccount:
    """The account a line is credited to: the gift card liability for a card sold; else its chapter's account when
    chapters are on (one per rate by default); else the shop's own account for the kind and rate, or the kind's
    base + rate code."""
    if kind == "gift_card":
        return gift_card_account(mapping)
    if chapter is not None and mapping.use_chapters:
        base = mapping.chapter_accounts.get(chapter) or mapping.chapters.get(chapter)
        if base is None:
            raise BookingError(
                f"chapter {chapter}",
                "no account for this accounting chapter",
                f"send it in reference.updated or set mapping.chapters.accounts.{chapter}",
            )
        if mapping.chapter_rate_suffix:
            return LedgerAccount(
                base + rate_code(rate), f"Ventes chapitre {chapter} {_percent(rate)}", pennylane_vat_code(mapping, rate)
            )
        return LedgerAccount(base, f"Ventes chapitre {chapter}", None)
    number = mapping.sales_accounts.get(kind, {}).get(rate)
    if number is None:
        base = {"goods": mapping.sales_goods, "service": mapping.sales_service, "other": mapping.sales_other}[kind]
        number = base + rate_code(rate)
    return LedgerAccount(number, f"{_SALES_LABELS[kind]} {_percent(rate)}", pennylane_vat_code(mapping, rate))


def vat_account(mapping: ShopMapping, rate: int) -> LedgerAccount:
    """VAT collected at one rate: one account per rate (the shop's own, else base + rate code), with its code."""
    number = mapping.vat_accounts.get(rate) or mapping.vat_collected + rate_code(rate)
    return LedgerAccount(number, f"TVA collectée {_percent(rate)}", pennylane_vat_code(mapping, rate))


def counter_customer_account(mapping: ShopMapping) -> LedgerAccount:
    """Anonymous tickets all land on one counter-customer account."""
    return LedgerAccount(mapping.counter_customer, "Clients comptoir Kash.Click", None)


def method_label(mapping: ShopMapping, method_id: str) -> str:
    """The payment method's name as the shop calls it (its id when the reference has not named it)."""
    info = mapping.methods.get(method_id)
    return info.label if info is not None else method_id


def method_account(mapping: ShopMapping, method_id: str, register_id: str) -> LedgerAccount:
    """The account a payment method debits: a per-method override, else its kind's account (cash: per register)."""
    label = method_label(mapping, method_id)
    number = mapping.payment_methods.get(method_id)
    if number is not None:
        return LedgerAccount(number, label, None)
    info = mapping.methods.get(method_id)
    if info is None:
        raise BookingError(
            f"payment method {method_id}",
            "unknown payment method: no kind and no account",
            f"send it in reference.updated or set mapping.payment_methods.{method_id}",
        )
    base = mapping.payment_kinds[info.kind]
    if info.kind != "cash":
        return LedgerAccount(base, KIND_LABELS[info.kind], None)
    number = mapping.cash_accounts.get(register_id)
    if number is None:
        found = _REGISTER_NUMBER.search(register_id)
        if found is None:
            raise BookingError(
                f"cash account of register {register_id}",
                "the register id ends with no number",
                f"set mapping.cash_accounts.{register_id}",
            )
        number = base + found.group()
    return LedgerAccount(number, f"Espèces {mapping.registers.get(register_id, register_id)}", None)


def cash_difference_account(mapping: ShopMapping, shortage: bool) -> LedgerAccount:
    """Cash shortages are a charge (658000), surpluses a product (758000); not 6581/7581, penalties since 2025."""
    if shortage:
        return LedgerAccount(mapping.cash_shortage, "Différences de caisse - manquants", None)
    return LedgerAccount(mapping.cash_surplus, "Différences de caisse - excédents", None)


def closing_accounts(mapping: ShopMapping) -> tuple[LedgerAccount, LedgerAccount]:
    """The closing's general sales and general receipts accounts (a memo pair by default, see docs)."""
    sales = LedgerAccount(mapping.closing_sales, "Clôtures de caisse - ventes TTC (mémo)", None)
    if mapping.closing_receipts == mapping.closing_sales:
        return sales, sales
    return sales, LedgerAccount(mapping.closing_receipts, "Clôtures de caisse - recettes (mémo)", None)


def required_accounts(mapping: ShopMapping, rates: tuple[int, ...]) -> tuple[LedgerAccount, ...]:
    """Every ledger account the mapping can book on, for these rates and the shop's methods, registers, chapters.

    Raises BookingError for a rate the mapping does not know.
    """
    accounts: dict[str, LedgerAccount] = {}

    def add(account: LedgerAccount) -> None:
        accounts.setdefault(account.number, account)

    for rate in rates:
        check_rate(mapping, rate, "reference.updated")
        for kind in _KINDS:
            add(sales_account(mapping, kind, rate, None))
        if rate:
            add(vat_account(mapping, rate))
        if mapping.use_chapters:
            for chapter in sorted({*mapping.chapters, *mapping.chapter_accounts}):
                add(sales_account(mapping, "goods", rate, chapter))
    add(counter_customer_account(mapping))
    for method_id in sorted({*mapping.methods, *mapping.payment_methods}):
        info = mapping.methods.get(method_id)
        if info is not None and info.kind == "cash" and method_id not in mapping.payment_methods:
            for register_id in sorted(mapping.registers):
                add(method_account(mapping, method_id, register_id))
        else:
            add(method_account(mapping, method_id, ""))
    add(cash_difference_account(mapping, shortage=True))
    add(cash_difference_account(mapping, shortage=False))
    if mapping.closing_entry:
        for account in closing_accounts(mapping):
            add(account)
    return tuple(accounts.values())


def chapter_collisions(mapping: ShopMapping, rates: tuple[int, ...]) -> list[str]:
    """Chapter accounts that are also a kind's per-rate account (707100 is both ``textile`` and goods 10 %)."""
    if not mapping.use_chapters or mapping.chapter_rate_suffix:
        return []
    per_rate = {sales_account(mapping, kind, rate, None).number for rate in rates for kind in _KINDS}
    return [
        f"chapter {chapter}: account {number} is also a per-rate sales account (mapping.chapters.accounts.{chapter})"
        for chapter in sorted({*mapping.chapters, *mapping.chapter_accounts})
        if (number := sales_account(mapping, "goods", 0, chapter).number) in per_rate
    ]
