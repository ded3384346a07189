"""The mapping: defaults, the TOML file, validation errors naming their key, per-shop merge, reference data."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import pytest
from rules_builders import REFERENCE

from outboxd.contract.models import Register
from outboxd.exceptions import ConfigError
from outboxd.rules import ShopMapping, assign_journal_codes, effective_mapping

TOML = Path(__file__).parents[2] / "config" / "mapping.fr.toml"


def test_shipped_toml_equals_the_defaults() -> None:
    table = tomllib.loads(TOML.read_text(encoding="utf-8"))["mapping"]
    assert ShopMapping.from_dict(table) == ShopMapping()


def test_empty_table_gives_the_defaults_and_to_dict_round_trips() -> None:
    assert ShopMapping.from_dict({}) == ShopMapping()
    custom = ShopMapping.from_dict({"sales": {"other": "711"}, "vat": {"codes": {"0": "FR_09"}}})
    assert ShopMapping.from_dict(custom.to_dict()) == custom
    assert custom.sales_other == "711"
    assert custom.vat_codes == {0: "FR_09"}


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"salse": {}}, "shops.boutique-1.mapping.salse"),
        ({"payment_methods": {"tr": 5116}}, "shops.boutique-1.mapping.payment_methods.tr"),
        ({"payment_methods": {"tr": "51 16"}}, "shops.boutique-1.mapping.payment_methods.tr"),
        ({"payment_kinds": {"crypto": "5118"}}, "shops.boutique-1.mapping.payment_kinds.crypto"),
        ({"vat_rates": ["20", 5.5]}, "shops.boutique-1.mapping.vat_rates[1]"),
        ({"vat_rates": []}, "shops.boutique-1.mapping.vat_rates"),
        ({"vat": {"codes": {"8.55": "FR_85"}}}, "shops.boutique-1.mapping.vat.codes.8.55"),
        ({"closing": {"global_entry": "no"}}, "shops.boutique-1.mapping.closing.global_entry"),
        ({"journals": {"r1": "C1"}}, "shops.boutique-1.mapping.journals.r1"),
        ({"journals": {"r1": "CAI", "r2": "CAI"}}, "shops.boutique-1.mapping.journals"),
        ({"piece_number": {"prefix": "a b"}}, "shops.boutique-1.mapping.piece_number.prefix"),
        ({"chapters": {"accounts": {"textile": None}}}, "shops.boutique-1.mapping.chapters.accounts.textile"),
        ({"sales": "707"}, "shops.boutique-1.mapping.sales"),
    ],
)
def test_invalid_keys_are_named(table: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ShopMapping.from_dict(table, key_prefix="shops.boutique-1.mapping")
    assert caught.value.key == key
    assert caught.value.reason


def test_shop_section_overrides_the_global_one_key_by_key() -> None:
    base = ShopMapping.from_dict({"payment_kinds": {"card": "5114"}, "closing": {"global_entry": False}})
    shop = base.merge({"payment_kinds": {"voucher": "5118"}, "payment_methods": {"tr": "5119"}})
    assert shop.payment_kinds["card"] == "5114"
    assert shop.payment_kinds["voucher"] == "5118"
    assert shop.payment_methods == {"tr": "5119"}
    assert shop.closing_entry is False


def test_merge_names_the_shop_key() -> None:
    with pytest.raises(ConfigError, match=r"shops\.b2\.mapping\.cash_difference\.shortag"):
        ShopMapping().merge({"cash_difference": {"shortag": "6580"}}, key_prefix="shops.b2.mapping")


def test_effective_mapping_takes_the_reference() -> None:
    effective = effective_mapping(ShopMapping(), REFERENCE)
    assert effective.registers == {"r1": "Caisse 1", "r2": "Caisse 2"}
    assert effective.methods["tr"].kind == "voucher"
    assert effective.chapters == {"textile": "707100"}
    assert effective.journals == {"r1": "CAIA", "r2": "CAIB"}
    assert effective_mapping(ShopMapping(), None) == ShopMapping()


def test_journal_codes_are_stable_unique_and_letters_only() -> None:
    registers = [Register("r2", "Caisse 2"), Register("r1", "Caisse 1"), Register("bar", "Bar"), Register("x", "Bar")]
    codes = assign_journal_codes(registers, {})
    assert codes == {"bar": "BAR", "r1": "CAIA", "r2": "CAIB", "x": "BARA"}
    grown = assign_journal_codes([*registers, Register("r0", "Caisse 2")], {**codes, "r2": "CAIX"})
    assert grown["r2"] == "CAIX"  # an existing code is never changed
    assert grown["r0"] not in {"CAIX", "CAIA", "BAR", "BARA"}
    assert all(code.isalpha() and code.isupper() and 2 <= len(code) <= 5 for code in grown.values())
    assert assign_journal_codes([Register("z", "Été 12")], {})["z"] == "ETEL"
    assert assign_journal_codes([Register("z", "7")], {})["z"] == "CAG"


def test_journal_overrides_from_the_config_win() -> None:
    mapping = ShopMapping.from_dict({"journals": {"r1": "VTE"}})
    assert effective_mapping(mapping, REFERENCE).journals == {"r1": "VTE", "r2": "CAIB"}


def test_defaults_are_the_documented_accounts() -> None:
    mapping = ShopMapping()
    assert (mapping.sales_goods, mapping.sales_service, mapping.sales_other) == ("707", "706", "708")
    assert dict(mapping.payment_kinds) == {
        "cash": "530",
        "card": "5115",
        "cheque": "5112",
        "transfer": "5117",
        "voucher": "5116",
        "gift_card": "4191",
        "other": "4718",
    }
    assert (mapping.cash_shortage, mapping.cash_surplus, mapping.counter_customer) == ("658000", "758000", "411000")
    assert dataclasses.replace(mapping) == mapping
