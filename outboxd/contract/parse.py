"""Outbox row -> typed ``Event``, or a ``ContractError`` naming the field, the problem and the fix.

Plain code over ``json.loads`` (no schema library at runtime): the bridge parses every row it delivers.
Unknown extra keys are ignored, for forward compatibility; the JSON Schemas in ``schemas/`` say the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from outboxd.contract import _read as r
from outboxd.contract._orders import currency, parse_order
from outboxd.contract.models import (
    EVENT_TYPES,
    Chapter,
    Event,
    EventType,
    OrderRecorded,
    Payload,
    PaymentMethod,
    PaymentRecorded,
    Receipt,
    ReferenceUpdated,
    Register,
    RegisterClosed,
)
from outboxd.exceptions import ContractError

__all__ = ["PAYMENT_METHOD_KINDS", "expected_aggregate_id", "parse_event", "parse_payload"]

PAYMENT_METHOD_KINDS = ("cash", "card", "cheque", "transfer", "voucher", "gift_card", "other")


def _payment(payload: dict[str, Any]) -> PaymentRecorded:
    w = "payload"
    return PaymentRecorded(r.text(payload, "payment_id", w), r.text(payload, "order_id", w),
                           r.text(payload, "register_id", w), r.business_date(payload, "business_date", w),
                           r.text(payload, "method_id", w), r.amount(payload, "amount", w), currency(payload, w))


def _closing(payload: dict[str, Any]) -> RegisterClosed:
    w = "payload"
    receipts = []
    for i, item in enumerate(r.items(payload, "receipts", w)):
        here = f"payload.receipts[{i}]"
        receipts.append(Receipt(r.text(item, "method_id", here), r.amount(item, "expected", here),
                                r.amount(item, "counted", here)))
    _unique([x.method_id for x in receipts], "payload.receipts", "method_id")
    closing = RegisterClosed(r.text(payload, "closing_id", w), r.text(payload, "register_id", w),
                             r.integer(payload, "z_number", w), r.business_date(payload, "business_date", w),
                             r.timestamp(payload, "opened_at", w), r.timestamp(payload, "closed_at", w),
                             r.amount(payload, "sales_total_incl_tax", w), tuple(receipts))
    if closing.closed_at < closing.opened_at:
        r.fail("payload.closed_at", "is before opened_at", "send the time the register was closed, after it opened")
    return closing


def _reference(payload: dict[str, Any]) -> ReferenceUpdated:
    w = "payload"
    registers = tuple(Register(r.text(x, "id", f"payload.registers[{i}]"), r.text(x, "name", f"payload.registers[{i}]"))
                      for i, x in enumerate(r.items(payload, "registers", w)))
    methods = tuple(_method(x, f"payload.payment_methods[{i}]")
                    for i, x in enumerate(r.items(payload, "payment_methods", w)))
    rates = tuple(r.rate(x, "rate", f"payload.vat_rates[{i}]") for i, x in enumerate(r.items(payload, "vat_rates", w)))
    chapters = []
    for i, x in enumerate(r.items(payload, "chapters", w, required=False)):
        here = f"payload.chapters[{i}]"
        account = r.text(x, "account", here)
        if not account.isdigit() or not account.isascii():
            r.fail(f"{here}.account", f"{account!r} is not an account number", 'send the digits, e.g. "707100"')
        chapters.append(Chapter(r.text(x, "id", here), r.text(x, "label", here), account))
    enabled = payload.get("chapters_enabled", False)
    if type(enabled) is not bool:
        r.fail("payload.chapters_enabled", f"is {enabled!r}, it must be a boolean", "send true or false")
    _unique([x.id for x in registers], "payload.registers", "id")
    _unique([x.id for x in methods], "payload.payment_methods", "id")
    _unique([x.id for x in chapters], "payload.chapters", "id")
    return ReferenceUpdated(registers, methods, rates, tuple(chapters), enabled)


def _method(data: dict[str, Any], where: str) -> PaymentMethod:
    return PaymentMethod(r.text(data, "id", where), r.text(data, "label", where),
                         r.one_of(data, "kind", where, PAYMENT_METHOD_KINDS))


def _unique(values: list[str], where: str, key: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            r.fail(f"{where}[{i}].{key}", f"{value!r} appears twice", f"send each {key} once")
        seen.add(value)


_PARSERS: dict[str, Callable[[dict[str, Any]], Payload]] = {
    "order.recorded": parse_order,
    "payment.recorded": _payment,
    "register.closed": _closing,
    "reference.updated": _reference,
}


def parse_payload(event_type: str, payload: Mapping[str, Any]) -> Payload:
    """A decoded payload of the given type -> its typed model."""
    parser = _PARSERS.get(event_type)
    if parser is None:
        r.fail("event_type", f"{event_type!r} is not an event type of contract version 1",
               "send one of " + ", ".join(EVENT_TYPES))
    if type(payload) is not dict:
        payload = dict(payload)
    return parser(payload)


def expected_aggregate_id(payload: Payload) -> str:
    """The ordering key the contract prescribes for this payload."""
    if isinstance(payload, OrderRecorded | PaymentRecorded):
        return f"order:{payload.order_id}"
    if isinstance(payload, RegisterClosed):
        return f"register:{payload.register_id}"
    return "reference"


def _decode(raw: Any) -> dict[str, Any]:
    if type(raw) is str:
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise ContractError("payload", f"is not valid JSON: {exc}",
                                "send a JSON object serialized by a JSON library") from exc
    if type(raw) is not dict:
        r.fail("payload", f"is {type(raw).__name__}, not a JSON object", "send a JSON object, e.g. {\"order_id\": ...}")
    return raw


def parse_event(row: Mapping[str, Any]) -> Event:
    """An outbox row (``payload`` as JSON text or already decoded) -> ``Event``; ``id`` may be absent (None)."""
    row_id = row.get("id")
    if row_id is not None and type(row_id) is not int:
        r.fail("id", f"is {row_id!r}, it must be an integer", "let the database assign it")
    event_type = r.one_of(row, "event_type", "", EVENT_TYPES)
    event_id, shop_id = r.text(row, "event_id", ""), r.text(row, "shop_id", "")
    aggregate_id = r.text(row, "aggregate_id", "")
    occurred_at = r.timestamp(row, "occurred_at", "")
    if "payload" not in row:
        r.fail("payload", "is missing", "send the event's JSON object")
    payload = parse_payload(event_type, _decode(row["payload"]))
    expected = expected_aggregate_id(payload)
    if aggregate_id != expected:
        r.fail("aggregate_id", f"is {aggregate_id!r} but this {event_type} must be ordered under {expected!r}",
               f'send "{expected}"')
    typed: EventType = event_type
    return Event(row_id, event_id, shop_id, typed, aggregate_id, occurred_at, payload)
