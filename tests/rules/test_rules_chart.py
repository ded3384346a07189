"""The shop's own chart: chapters split by rate, explicit accounts per kind and rate, gift cards, first-use accounts."""

from __future__ import annotations

import dataclasses

import pytest
from rules_builders import REFERENCE, event, payment, render, worked_order

from outboxd.contract.models import OrderLine, PaymentMethod
from outboxd.exceptions import ConfigError
from outboxd.rules import ShopMapping, book, effective_mapping


def _credits(booking_json: dict[str, object]) -> dict[str, str]:
    [entry] = booking_json["entries"]  # type: ignore[misc]
    return {number: credit for number, _, credit, _ in entry["lines"] if credit != "0.00"}


def test_a_chapter_at_two_rates_books_one_account_per_rate_each_with_its_vat_rate() -> None:
    mapping = effective_mapping(ShopMapping(), dataclasses.replace(REFERENCE, chapters_enabled=True))
    order = dataclasses.replace(
        worked_order(breakdown=False),
        lines=(OrderLine("T-shirt", "1", 2400, 200, "goods", "textile"),
               OrderLine("Livre textile", "1", 1055, 55, "goods", "textile")),
        discounts=(), total_incl_tax=3455,
    )  # fmt: skip
    booking = render(book(event(order), mapping))
    assert _credits(booking) == {"707100200": "20.00", "707100055": "10.00", "44571200": "4.00", "44571055": "0.55"}
    accounts = {number: code for number, _, code in booking["accounts"]}
    assert accounts["707100200"] == "FR_200"
    assert accounts["707100055"] == "FR_55"


def test_explicit_accounts_per_kind_and_rate_win_and_the_others_keep_base_plus_rate_code() -> None:
    table = {"sales": {"accounts": {"goods": {"20": "7071"}}}, "vat": {"accounts": {"20": "445711", "5.5": "445713"}}}
    mapping = effective_mapping(ShopMapping.from_dict(table), REFERENCE)
    booking = render(book(event(worked_order()), mapping))
    assert _credits(booking) == {
        "7071": "22.72", "707055": "10.86", "706100": "10.33", "445711": "4.54", "445713": "0.60", "44571100": "1.03",
    }  # fmt: skip
    accounts = {number: code for number, _, code in booking["accounts"]}
    assert accounts["7071"] == "FR_200"
    assert accounts["445713"] == "FR_55"
    assert ShopMapping.from_dict(mapping.to_dict()).sales_accounts == {"goods": {200: "7071"}}


def test_an_explicit_account_for_a_rate_the_shop_does_not_use_is_refused_naming_its_key() -> None:
    with pytest.raises(ConfigError) as caught:
        ShopMapping.from_dict({"vat_rates": ["20"], "vat": {"accounts": {"5.5": "445713"}}})
    assert caught.value.key == "mapping.vat.accounts.5.5"


def test_a_reference_creates_no_account_up_front() -> None:
    booking = book(event(REFERENCE), ShopMapping())
    assert booking.accounts == ()
    assert [j.code for j in booking.journals] == ["CAIA", "CAIB"]


GIFT_REFERENCE = dataclasses.replace(
    REFERENCE, payment_methods=(*REFERENCE.payment_methods, PaymentMethod("kdo", "Carte cadeau", "gift_card"))
)


def test_a_gift_card_sold_is_a_liability_without_vat_and_spent_is_a_payment_debiting_it() -> None:
    mapping = effective_mapping(ShopMapping(), GIFT_REFERENCE)
    order = dataclasses.replace(
        worked_order(breakdown=False), customer=None,
        lines=(OrderLine("Carte cadeau", "1", 5000, 0, "gift_card", None),
               OrderLine("Bougie", "1", 2000, 200, "goods", None)),
        discounts=(), total_incl_tax=7000,
    )  # fmt: skip
    sold = render(book(event(order), mapping))
    assert _credits(sold) == {"4191": "50.00", "707200": "16.67", "44571200": "3.33"}
    assert ["4191", "Cartes cadeaux en circulation", None] in sold["accounts"]
    [spent] = render(book(event(payment("p-7", "kdo", 3000)), mapping))["entries"]
    assert spent["lines"][0][:3] == ["4191", "30.00", "0.00"]
    assert spent["lines"][1][:3] == ["order o-10452", "0.00", "30.00"]


def test_the_gift_card_account_is_configurable_and_needs_no_rate_in_the_mapping() -> None:
    mapping = effective_mapping(ShopMapping.from_dict({"vat_rates": ["20"], "payment_kinds": {"gift_card": "4198"}}),
                                GIFT_REFERENCE)  # fmt: skip
    order = dataclasses.replace(
        worked_order(breakdown=False), lines=(OrderLine("Carte cadeau", "1", 2500, 0, "gift_card", None),),
        discounts=(), total_incl_tax=2500,
    )  # fmt: skip
    assert _credits(render(book(event(order), mapping))) == {"4198": "25.00"}
