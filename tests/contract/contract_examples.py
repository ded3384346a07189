"""The contract's own examples (outbox-contract.md, version 1), as outbox rows: the base of every bad case."""

from __future__ import annotations

from typing import Any

ORDER: dict[str, Any] = {
    "order_id": "o-10452",
    "number": "T-000482",
    "register_id": "r1",
    "business_date": "2026-03-14",
    "currency": "EUR",
    "customer": {
        "id": "c-77", "type": "individual",
        "first_name": "Marie", "last_name": "Dupont", "name": None,
        "email": "marie@example.org", "vat_number": None, "reg_no": None,
        "address": {"address": "8 rue de la Paix", "postal_code": "75002", "city": "Paris", "country_alpha2": "FR"},
    },
    "lines": [
        {"label": "T-shirt", "quantity": "2", "total_incl_tax": "29.98", "vat_rate": "20", "kind": "goods",
         "chapter": "textile"},
        {"label": "Confiture", "quantity": "3", "total_incl_tax": "12.60", "vat_rate": "5.5", "kind": "goods",
         "chapter": None},
        {"label": "Repas sur place", "quantity": "1", "total_incl_tax": "12.50", "vat_rate": "10", "kind": "service",
         "chapter": None},
    ],
    "discounts": [{"label": "Remise fidélité", "amount_incl_tax": "5.00"}],
    "vat_breakdown": [
        {"rate": "20", "base": "22.72", "vat": "4.54"},
        {"rate": "5.5", "base": "10.86", "vat": "0.60"},
        {"rate": "10", "base": "10.33", "vat": "1.03"},
    ],
    "total_incl_tax": "50.08",
}
PAYMENT: dict[str, Any] = {"payment_id": "p-9981", "order_id": "o-10452", "register_id": "r1",
                           "business_date": "2026-03-14", "method_id": "cb", "amount": "30.00", "currency": "EUR"}
CLOSING: dict[str, Any] = {
    "closing_id": "z-r1-452", "register_id": "r1", "z_number": 452, "business_date": "2026-03-14",
    "opened_at": "2026-03-14T08:58:00+01:00", "closed_at": "2026-03-14T19:31:00+01:00",
    "sales_total_incl_tax": "1234.50",
    "receipts": [{"method_id": "cash", "expected": "570.50", "counted": "568.20"},
                 {"method_id": "cb", "expected": "664.00", "counted": "664.00"}],
}
REFERENCE: dict[str, Any] = {
    "registers": [{"id": "r1", "name": "Caisse 1"}, {"id": "r2", "name": "Caisse 2"}],
    "payment_methods": [{"id": "cash", "label": "Espèces", "kind": "cash"},
                        {"id": "cb", "label": "Carte bancaire", "kind": "card"},
                        {"id": "chq", "label": "Chèque", "kind": "cheque"},
                        {"id": "vir", "label": "Virement", "kind": "transfer"},
                        {"id": "tr", "label": "Titre-restaurant", "kind": "voucher"}],
    "vat_rates": [{"rate": "20"}, {"rate": "10"}, {"rate": "5.5"}, {"rate": "2.1"}],
    "chapters": [{"id": "textile", "label": "Textile", "account": "707100"}],
    "chapters_enabled": True,
}
PAYLOADS: dict[str, dict[str, Any]] = {"order.recorded": ORDER, "payment.recorded": PAYMENT,
                                       "register.closed": CLOSING, "reference.updated": REFERENCE}
AGGREGATES = {"order.recorded": "order:o-10452", "payment.recorded": "order:o-10452",
              "register.closed": "register:r1", "reference.updated": "reference"}


def row(event_type: str = "order.recorded") -> dict[str, Any]:
    """A valid outbox row of that type (payload decoded), a fresh deep copy every time."""
    import copy

    return {"event_id": f"e-{event_type}", "shop_id": "shop-1", "event_type": event_type,
            "aggregate_id": AGGREGATES[event_type], "occurred_at": "2026-03-14T18:02:11+01:00",
            "payload": copy.deepcopy(PAYLOADS[event_type])}
