"""Builders for the rules tests: contract events built from the dataclasses, and bookings rendered to JSON."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from outboxd.contract.models import (
    Address,
    Chapter,
    Customer,
    Discount,
    Event,
    OrderLine,
    OrderRecorded,
    Payload,
    PaymentMethod,
    PaymentRecorded,
    Receipt,
    ReferenceUpdated,
    Register,
    RegisterClosed,
    VatBreakdownRow,
)
from outboxd.money import format_cents
from outboxd.rules import Booking, CustomerAccount, LedgerAccount, OrderCustomerAccount

DAY = dt.date(2026, 3, 14)
PARIS = dt.timezone(dt.timedelta(hours=1))

MARIE = Customer(
    id="c-77",
    type="individual",
    first_name="Marie",
    last_name="Dupont",
    name=None,
    email="marie@example.org",
    vat_number=None,
    reg_no=None,
    address=Address("8 rue de la Paix", "75002", "Paris", "FR"),
)

REFERENCE = ReferenceUpdated(
    registers=(Register("r1", "Caisse 1"), Register("r2", "Caisse 2")),
    payment_methods=(
        PaymentMethod("cash", "Espèces", "cash"),
        PaymentMethod("cb", "Carte bancaire", "card"),
        PaymentMethod("chq", "Chèque", "cheque"),
        PaymentMethod("vir", "Virement", "transfer"),
        PaymentMethod("tr", "Titre-restaurant", "voucher"),
    ),
    vat_rates=(200, 100, 55, 21),
    chapters=(Chapter("textile", "Textile", "707100"),),
    chapters_enabled=False,
)


def event(payload: Payload, event_id: str = "e-1", shop_id: str = "boutique-1") -> Event:
    """An outbox row around a payload, as the contract parser would return it."""
    kinds = {
        OrderRecorded: "order.recorded",
        PaymentRecorded: "payment.recorded",
        RegisterClosed: "register.closed",
        ReferenceUpdated: "reference.updated",
    }
    return Event(
        id=1,
        event_id=event_id,
        shop_id=shop_id,
        event_type=kinds[type(payload)],  # type: ignore[arg-type]
        aggregate_id="x",
        occurred_at=dt.datetime(2026, 3, 14, 18, 2, 11, tzinfo=PARIS),
        payload=payload,
    )


def worked_order(*, breakdown: bool = True) -> OrderRecorded:
    """Ticket T-000482 of ACCOUNTING.md's worked example."""
    return OrderRecorded(
        order_id="o-10452",
        number="T-000482",
        register_id="r1",
        business_date=DAY,
        currency="EUR",
        customer=MARIE,
        lines=(
            OrderLine("T-shirt", "2", 2998, 200, "goods", "textile"),
            OrderLine("Confiture", "3", 1260, 55, "goods", None),
            OrderLine("Repas sur place", "1", 1250, 100, "service", None),
        ),
        discounts=(Discount("Remise fidélité", 500),),
        vat_breakdown=(VatBreakdownRow(200, 2272, 454), VatBreakdownRow(55, 1086, 60), VatBreakdownRow(100, 1033, 103))
        if breakdown
        else None,
        total_incl_tax=5008,
    )


def negated_order(order: OrderRecorded) -> OrderRecorded:
    """The credit note that cancels ``order``: every amount negated."""
    return dataclasses.replace(
        order,
        lines=tuple(dataclasses.replace(line, total_incl_tax=-line.total_incl_tax) for line in order.lines),
        discounts=tuple(dataclasses.replace(d, amount_incl_tax=-d.amount_incl_tax) for d in order.discounts),
        vat_breakdown=None
        if order.vat_breakdown is None
        else tuple(VatBreakdownRow(r.rate, -r.base, -r.vat) for r in order.vat_breakdown),
        total_incl_tax=-order.total_incl_tax,
    )


def payment(payment_id: str, method_id: str, amount: int, order_id: str = "o-10452") -> PaymentRecorded:
    return PaymentRecorded(payment_id, order_id, "r1", DAY, method_id, amount, "EUR")


def worked_closing() -> RegisterClosed:
    return RegisterClosed(
        closing_id="z-r1-452",
        register_id="r1",
        z_number=452,
        business_date=DAY,
        opened_at=dt.datetime(2026, 3, 14, 8, 58, tzinfo=PARIS),
        closed_at=dt.datetime(2026, 3, 14, 19, 31, tzinfo=PARIS),
        sales_total_incl_tax=123450,
        receipts=(Receipt("cash", 57050, 56820), Receipt("cb", 66400, 66400)),
    )


def account_name(account: LedgerAccount | CustomerAccount | OrderCustomerAccount) -> str:
    """A short readable name for an account reference: ``707200``, ``customer kashclick:...``, ``order o-1``."""
    if isinstance(account, LedgerAccount):
        return account.number
    if isinstance(account, CustomerAccount):
        return f"customer {account.external_reference}"
    return f"order {account.order_id}"


def render(booking: Booking) -> dict[str, Any]:
    """A booking as JSON: what the golden files hold and what an accountant can read."""
    return {
        "entries": [
            {
                "register_id": entry.register_id,
                "date": entry.date.isoformat(),
                "label": entry.label,
                "piece_number": entry.piece_number,
                "currency": entry.currency,
                "lines": [
                    [account_name(line.account), format_cents(line.debit), format_cents(line.credit), line.label]
                    for line in entry.lines
                ],
            }
            for entry in booking.entries
        ],
        "journals": [[j.register_id, j.code, j.label] for j in booking.journals],
        "accounts": [[a.number, a.label, a.vat_rate] for a in booking.accounts],
        "notes": list(booking.notes),
    }


def to_json(value: Any) -> Any:
    """A contract dataclass as plain JSON (dates in ISO form), for the input half of a golden file."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value
