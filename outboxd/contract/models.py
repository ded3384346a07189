"""Typed outbox events, as the contract defines them (version 1.1: line and payment kind ``gift_card``).

Amounts are integer cents and VAT rates integer tenths of a percent (see ``outboxd.money``); dates are
``datetime.date``. These are what ``outboxd.contract.parse_event`` returns and what the rules engine reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "EVENT_TYPES",
    "Address",
    "Chapter",
    "Customer",
    "Discount",
    "Event",
    "EventType",
    "OrderLine",
    "OrderRecorded",
    "Payload",
    "PaymentMethod",
    "PaymentMethodKind",
    "PaymentRecorded",
    "Receipt",
    "ReferenceUpdated",
    "Register",
    "RegisterClosed",
    "VatBreakdownRow",
]

EventType = Literal["order.recorded", "payment.recorded", "register.closed", "reference.updated"]
EVENT_TYPES: tuple[EventType, ...] = ("order.recorded", "payment.recorded", "register.closed", "reference.updated")
LineKind = Literal["goods", "service", "other", "gift_card"]
CustomerType = Literal["individual", "company"]
PaymentMethodKind = Literal["cash", "card", "cheque", "transfer", "voucher", "gift_card", "other"]


@dataclass(frozen=True, slots=True)
class Address:
    address: str | None
    postal_code: str | None
    city: str | None
    country_alpha2: str | None


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    type: CustomerType
    first_name: str | None
    last_name: str | None
    name: str | None
    email: str | None
    vat_number: str | None
    reg_no: str | None
    address: Address | None


@dataclass(frozen=True, slots=True)
class OrderLine:
    label: str
    quantity: str
    total_incl_tax: int
    vat_rate: int
    kind: LineKind
    chapter: str | None


@dataclass(frozen=True, slots=True)
class Discount:
    label: str
    amount_incl_tax: int


@dataclass(frozen=True, slots=True)
class VatBreakdownRow:
    rate: int
    base: int
    vat: int


@dataclass(frozen=True, slots=True)
class OrderRecorded:
    order_id: str
    number: str
    register_id: str
    business_date: dt.date
    currency: str
    customer: Customer | None
    lines: tuple[OrderLine, ...]
    discounts: tuple[Discount, ...]
    vat_breakdown: tuple[VatBreakdownRow, ...] | None
    total_incl_tax: int


@dataclass(frozen=True, slots=True)
class PaymentRecorded:
    payment_id: str
    order_id: str
    register_id: str
    business_date: dt.date
    method_id: str
    amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class Receipt:
    method_id: str
    expected: int
    counted: int


@dataclass(frozen=True, slots=True)
class RegisterClosed:
    closing_id: str
    register_id: str
    z_number: int
    business_date: dt.date
    opened_at: dt.datetime
    closed_at: dt.datetime
    sales_total_incl_tax: int
    receipts: tuple[Receipt, ...]


@dataclass(frozen=True, slots=True)
class Register:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class PaymentMethod:
    id: str
    label: str
    kind: PaymentMethodKind


@dataclass(frozen=True, slots=True)
class Chapter:
    id: str
    label: str
    account: str


@dataclass(frozen=True, slots=True)
class ReferenceUpdated:
    registers: tuple[Register, ...]
    payment_methods: tuple[PaymentMethod, ...]
    vat_rates: tuple[int, ...]
    chapters: tuple[Chapter, ...]
    chapters_enabled: bool


Payload = OrderRecorded | PaymentRecorded | RegisterClosed | ReferenceUpdated


@dataclass(frozen=True, slots=True)
class Event:
    """One outbox row, validated. ``id`` is the outbox row id (None before it is inserted)."""

    id: int | None
    event_id: str
    shop_id: str
    event_type: EventType
    aggregate_id: str
    occurred_at: dt.datetime
    payload: Payload
