"""A payment's label names the ticket it pays, so a customer account reads in pairs; lettering is a shop switch."""

from __future__ import annotations

import dataclasses

import pytest
from rules_builders import event, payment, worked_order

from outboxd.exceptions import ConfigError
from outboxd.rules import ShopMapping, book
from outboxd.rules.daily import book_day


def test_a_payment_names_its_ticket_when_the_order_is_known(mapping: ShopMapping) -> None:
    [entry] = book(event(payment("p-1", "cb", 3000)), mapping, ticket_number="T-000482").entries
    assert entry.label == "Paiement Carte bancaire ticket T-000482"
    assert {line.label for line in entry.lines} == {entry.label}
    [refund] = book(event(payment("p-2", "cash", -500)), mapping, ticket_number="A-000012").entries
    assert refund.label == "Remboursement Espèces ticket A-000012"
    [unknown] = book(event(payment("p-3", "cb", 3000)), mapping).entries
    assert unknown.label == "Paiement Carte bancaire commande o-10452"


def test_a_day_names_the_ticket_of_each_payment_of_its_own_orders(mapping: ShopMapping) -> None:
    other_day = dataclasses.replace(payment("p-9", "cb", 100, order_id="o-1"))
    events = [event(worked_order(), "e-1"), event(payment("p-1", "cb", 3000), "e-2"), event(other_day, "e-3")]
    labels = {line.label for entry in book_day(events, mapping).entries for line in entry.lines}
    assert "Paiement Carte bancaire ticket T-000482" in labels
    assert "Paiement Carte bancaire commande o-1" in labels


def test_lettering_is_on_by_default_and_off_per_shop() -> None:
    assert ShopMapping().lettering
    off = ShopMapping().merge({"lettering": False}, key_prefix="shops.s1.mapping")
    assert not off.lettering
    assert ShopMapping.from_dict(off.to_dict()) == off
    with pytest.raises(ConfigError) as caught:
        ShopMapping.from_dict({"lettering": "no"}, key_prefix="shops.s1.mapping")
    assert caught.value.key == "shops.s1.mapping.lettering"
