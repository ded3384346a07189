"""The contract's own example payloads, parsed by outboxd.contract, book like the hand-built events."""

from __future__ import annotations

from rules_builders import event, worked_order

from outboxd.contract import parse_payload
from outboxd.rules import ShopMapping, book

ORDER = {
    "order_id": "o-10452",
    "number": "T-000482",
    "register_id": "r1",
    "business_date": "2026-03-14",
    "currency": "EUR",
    "customer": {
        "id": "c-77",
        "type": "individual",
        "first_name": "Marie",
        "last_name": "Dupont",
        "name": None,
        "email": "marie@example.org",
        "vat_number": None,
        "reg_no": None,
        "address": {"address": "8 rue de la Paix", "postal_code": "75002", "city": "Paris", "country_alpha2": "FR"},
    },
    "lines": [
        {
            "label": "T-shirt",
            "quantity": "2",
            "total_incl_tax": "29.98",
            "vat_rate": "20",
            "kind": "goods",
            "chapter": "textile",
        },
        {
            "label": "Confiture",
            "quantity": "3",
            "total_incl_tax": "12.60",
            "vat_rate": "5.5",
            "kind": "goods",
            "chapter": None,
        },
        {
            "label": "Repas sur place",
            "quantity": "1",
            "total_incl_tax": "12.50",
            "vat_rate": "10",
            "kind": "service",
            "chapter": None,
        },
    ],
    "discounts": [{"label": "Remise fidélité", "amount_incl_tax": "5.00"}],
    "vat_breakdown": [
        {"rate": "20", "base": "22.72", "vat": "4.54"},
        {"rate": "5.5", "base": "10.86", "vat": "0.60"},
        {"rate": "10", "base": "10.33", "vat": "1.03"},
    ],
    "total_incl_tax": "50.08",
}


def test_parsed_contract_example_books_like_the_worked_example(mapping: ShopMapping) -> None:
    parsed = parse_payload("order.recorded", ORDER)
    assert book(event(parsed), mapping) == book(event(worked_order()), mapping)
    assert parsed == worked_order()
