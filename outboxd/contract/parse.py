"""Outbox row -> typed ``Event``, or a ``ContractError`` naming the field, the problem and the fix.

Plain code over ``json.loads`` (no schema library at runtime): the bridge parses every row it delivers.
Unknown extra keys are ignored, for forward compatibility; the JSON Schemas in ``schemas/`` say the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from outboxd.contract import fields as r
from outboxd.contract._orders import currency, parse_order
from outboxd.contract.limits import MAX_DEPTH
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
from outboxd.contract.row import column_problem
from outboxd.exceptions import ContractError

__all__ = ["PAYMENT_METHOD_KINDS", "decode_payload", "expected_aggregate_id", "parse_event", "parse_payload"]

PAYMENT_METHOD_KINDS = ("cash", "card", "cheque", "transfer", "voucher", "gift_card", "other")


def _payment(payload: dict[str, Any]) -> PaymentRecorded:
    w = "payload"
    return PaymentRecorded(r.ident(payload, "payment_id", w), r.ident(payload, "order_id", w),
                           r.ident(payload, "register_id", w), r.business_date(payload, "business_date", w),
                           r.ident(payload, "method_id", w), r.amount(payload, "amount", w), currency(payload, w))


def _closing(payload: dict[str, Any]) -> RegisterClosed:
    w = "payload"
    receipts = []
    for i, item in enumerate(r.items(payload, "receipts", w)):
        here = f"payload.receipts[{i}]"
        receipts.append(Receipt(r.ident(item, "method_id", here), r.amount(item, "expected", here),
                                r.amount(item, "counted", here)))
    _unique([x.method_id for x in receipts], "payload.receipts", "method_id")
    closing = RegisterClosed(r.ident(payload, "closing_id", w), r.ident(payload, "register_id", w),
                             r.integer(payload, "z_number", w), r.business_date(payload, "business_date", w),
                             r.timestamp(payload, "opened_at", w), r.timestamp(payload, "closed_at", w),
                             r.amount(payload, "sales_total_incl_tax", w), tuple(receipts))
    if closing.closed_at < closing.opened_at:
        r.fail("payload.closed_at", "is before opened_at", "send the time the register was closed, after it opened")
    return closing


def _reference(payload: dict[str, Any]) -> ReferenceUpdated:
    w = "payload"
    registers = tuple(Register(r.ident(x, "id", here := f"payload.registers[{i}]"), r.text(x, "name", here))
                      for i, x in enumerate(r.items(payload, "registers", w)))
    methods = tuple(_method(x, f"payload.payment_methods[{i}]")
                    for i, x in enumerate(r.items(payload, "payment_methods", w)))
    rates = tuple(r.rate(x, "rate", f"payload.vat_rates[{i}]") for i, x in enumerate(r.items(payload, "vat_rates", w)))
    chapters = []
    for i, x in enumerate(r.items(payload, "chapters", w, required=False)):
        here = f"payload.chapters[{i}]"
        account = r.ident(x, "account", here)
        if not account.isdigit() or not account.isascii():
            r.fail(f"{here}.account", f"{r.shown(account)} is not an account number", 'send the digits, e.g. "707100"')
        chapters.append(Chapter(r.ident(x, "id", here), r.text(x, "label", here), account))
    enabled = payload.get("chapters_enabled", False)
    if type(enabled) is not bool:
        r.fail("payload.chapters_enabled", f"is {r.shown(enabled)}, it must be a boolean", "send true or false")
    _unique([x.id for x in registers], "payload.registers", "id")
    _unique([x.id for x in methods], "payload.payment_methods", "id")
    _unique([x.id for x in chapters], "payload.chapters", "id")
    return ReferenceUpdated(registers, methods, rates, tuple(chapters), enabled)


def _method(data: dict[str, Any], where: str) -> PaymentMethod:
    return PaymentMethod(r.ident(data, "id", where), r.text(data, "label", where),
                         r.one_of(data, "kind", where, PAYMENT_METHOD_KINDS))


def _unique(values: list[str], where: str, key: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            r.fail(f"{where}[{i}].{key}", f"{r.shown(value)} appears twice", f"send each {key} once")
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
        r.fail("event_type", f"{r.shown(event_type)} is not an event type of contract version 1",
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


def decode_payload(raw: Any) -> dict[str, Any]:
    """A payload as JSON text (or already decoded) -> its object, within the contract's nesting depth."""
    if type(raw) is str:
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise ContractError("payload", f"is not valid JSON: {exc}",
                                "send a JSON object serialized by a JSON library") from exc
        except RecursionError as exc:  # json's own guard, far deeper than MAX_DEPTH: nothing was left half-done
            raise _too_deep() from exc
    if type(raw) is not dict:
        r.fail("payload", f"is {type(raw).__name__}, not a JSON object", "send a JSON object, e.g. {\"order_id\": ...}")
    _check_depth(raw)
    return raw


def _too_deep() -> ContractError:
    return ContractError("payload", f"nests objects or arrays more than {MAX_DEPTH} deep",
                         "send the contract's fields; extra fields must stay shallow")


def _check_depth(payload: dict[str, Any]) -> None:
    """Without recursion: a hostile nesting must not reach the interpreter's recursion limit."""
    level: list[Any] = [payload]
    for _ in range(MAX_DEPTH):
        level = [v for c in level for v in (c.values() if type(c) is dict else c) if type(v) in (dict, list)]
        if not level:
            return
    raise _too_deep()


def parse_event(row: Mapping[str, Any]) -> Event:
    """An outbox row (``payload`` as JSON text or already decoded) -> ``Event``; ``id`` may be absent (None)."""
    row_id = row.get("id")
    if row_id is not None and type(row_id) is not int:
        r.fail("id", f"is {r.shown(row_id)}, it must be an integer", "let the database assign it")
    event_type = r.one_of(row, "event_type", "", EVENT_TYPES)
    event_id, shop_id = r.ident(row, "event_id", ""), r.ident(row, "shop_id", "")
    if (problem := column_problem("event_id", event_id) or column_problem("shop_id", shop_id)) is not None:
        raise problem
    aggregate_id: Any = row.get("aggregate_id")
    if type(aggregate_id) is not str:
        r.text(row, "aggregate_id", "")
    occurred_at = r.timestamp(row, "occurred_at", "")
    if "payload" not in row:
        r.fail("payload", "is missing", "send the event's JSON object")
    payload = parse_payload(event_type, decode_payload(row["payload"]))
    expected = expected_aggregate_id(payload)
    if aggregate_id != expected:
        r.fail("aggregate_id", f"is {r.shown(aggregate_id)} but this {event_type} must be ordered under {expected!r}",
               f'send "{expected}"')
    typed: EventType = event_type
    return Event(row_id, event_id, shop_id, typed, aggregate_id, occurred_at, payload)
