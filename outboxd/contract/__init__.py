"""The outbox contract, version 1: event models, validation, JSON Schemas and DDL. Pure: no I/O."""

from outboxd.contract.models import (
    EVENT_TYPES,
    Address,
    Chapter,
    Customer,
    Discount,
    Event,
    EventType,
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
from outboxd.contract.parse import expected_aggregate_id, parse_event, parse_payload
from outboxd.contract.resources import ddl, schema

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
    "PaymentRecorded",
    "Receipt",
    "ReferenceUpdated",
    "Register",
    "RegisterClosed",
    "VatBreakdownRow",
    "ddl",
    "expected_aggregate_id",
    "parse_event",
    "parse_payload",
    "schema",
]
