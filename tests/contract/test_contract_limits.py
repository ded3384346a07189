"""The contract's bounds: hostile payloads end as one ContractError naming the field, never as another exception.

Each case is what a producer bug or an attacker writes (a 100,000-deep JSON, an amount of 5,000 digits, a 40,000
line ticket, an ESC in a ticket number); before these bounds they raised RecursionError or ValueError (retried for
hours as ``internal``) or were booked as sent.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from contract_badcases import Bad, apply
from contract_examples import PAYLOADS, row
from hypothesis import given, settings
from hypothesis import strategies as st
from test_contract_schemas import schema_errors

from outboxd.contract import Event, parse_event
from outboxd.contract.limits import MAX_DEPTH, MAX_ITEMS, MAX_TEXT, clean_text
from outboxd.exceptions import ContractError

BAD_CHARS = ["\x00", "\x1b[31m", "\r\n", "\x7f", "\x9b", "\u202e", "\u2066", "\u200f"]


def _refused(event: dict[str, Any]) -> ContractError:
    with pytest.raises(ContractError) as caught:
        parse_event(event)
    return caught.value


def _order_with(**changes: Any) -> dict[str, Any]:
    event = row("order.recorded")
    event["payload"].update(changes)
    return event


def test_json_nested_100000_deep_is_a_contract_error_on_the_payload() -> None:
    event = row("order.recorded")
    event["payload"] = json.dumps(event["payload"])[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    error = _refused(event)
    assert error.field == "payload"
    assert f"more than {MAX_DEPTH} deep" in error.problem


def test_nesting_just_past_the_bound_is_refused_and_at_the_bound_accepted() -> None:
    def nested(depth: int) -> Any:  # depth counts the payload object itself
        value: Any = {}
        for _ in range(depth - 2):
            value = [value]
        return value

    parse_event(_order_with(extra=nested(MAX_DEPTH)))
    assert _refused(_order_with(extra=nested(MAX_DEPTH + 1))).field == "payload"


@pytest.mark.parametrize("digits", [13, 30, 4000, 5000])
def test_amounts_of_more_than_12_digits_name_the_field(digits: int) -> None:
    event = _order_with(total_incl_tax="9" * digits + ".00")
    error = _refused(event)
    assert error.field == "payload.total_incl_tax"
    assert f"{digits:,} digits before the decimal point, more than 12" in error.problem
    assert len(str(error)) < 400  # the value is quoted cut, not whole


def test_twelve_digits_are_an_amount() -> None:
    event = row("payment.recorded")
    event["payload"]["amount"] = "999999999999.99"
    assert parse_event(event).payload.amount == 99_999_999_999_999  # type: ignore[union-attr]


def test_quantity_and_z_number_are_bounded_too() -> None:
    event = row("order.recorded")
    event["payload"]["lines"][0]["quantity"] = "1" * 40
    assert _refused(event).field == "payload.lines[0].quantity"
    closing = row("register.closed")
    closing["payload"]["z_number"] = 10**40
    assert _refused(closing).field == "payload.z_number"


def test_a_40000_line_ticket_is_refused_with_its_count() -> None:
    line = {"label": "x", "quantity": "1", "total_incl_tax": "0.01", "vat_rate": "20", "kind": "goods"}
    event = _order_with(lines=[line] * 40_000, total_incl_tax="400.00", vat_breakdown=None, discounts=[])
    error = _refused(event)
    assert error.field == "payload.lines"
    assert "40,000 items, more than 1000" in str(error)


def test_a_ticket_of_the_maximum_line_count_parses() -> None:
    line = {"label": "x", "quantity": "1", "total_incl_tax": "0.01", "vat_rate": "20", "kind": "goods"}
    event = _order_with(lines=[line] * MAX_ITEMS, total_incl_tax="10.00", vat_breakdown=None, discounts=[])
    assert len(parse_event(event).payload.lines) == MAX_ITEMS  # type: ignore[union-attr]


@pytest.mark.parametrize("char", BAD_CHARS)
@pytest.mark.parametrize("field", ["order_id", "number", "register_id"])
def test_ids_and_ticket_numbers_with_control_or_bidi_characters_are_refused(field: str, char: str) -> None:
    event = row("order.recorded")
    event["payload"][field] = f"T{char}42"
    if field == "order_id":
        event["aggregate_id"] = f"order:T{char}42"
    error = _refused(event)
    assert error.field == f"payload.{field}"
    assert "control or bidi character U+" in error.problem


@pytest.mark.parametrize("char", BAD_CHARS)
def test_event_and_shop_ids_with_control_characters_are_refused(char: str) -> None:
    for column in ("event_id", "shop_id"):
        event = row("payment.recorded")
        event[column] = f"a{char}b"
        assert _refused(event).field == column


def test_shop_id_follows_the_configuration_pattern_and_bang_event_ids_are_reserved() -> None:
    event = row("payment.recorded")
    event["shop_id"] = "shop[/]"
    assert "not a shop id" in str(_refused(event))
    event = row("payment.recorded")
    event["event_id"] = "!row-7"
    assert _refused(event).field == "event_id"


def test_ids_longer_than_the_bound_are_refused() -> None:
    event = row("payment.recorded")
    event["payload"]["payment_id"] = "p" * 101
    assert "101 characters long, more than 100" in str(_refused(event))


def test_labels_and_names_are_cleaned_not_refused() -> None:
    event = row("order.recorded")
    event["payload"]["lines"][0]["label"] = "T-shirt\x1b[2J\u202e rouge\r\n"
    event["payload"]["customer"]["last_name"] = "Du\x00pont"
    order = parse_event(event).payload
    assert order.lines[0].label == "T-shirt [2J rouge"  # type: ignore[union-attr]
    assert order.customer.last_name == "Du pont"  # type: ignore[union-attr]


def test_labels_longer_than_the_bound_are_refused() -> None:
    event = row("order.recorded")
    event["payload"]["lines"][1]["label"] = "a" * (MAX_TEXT + 1)
    assert _refused(event).field == "payload.lines[1].label"


def test_a_name_of_control_characters_only_is_refused_as_empty() -> None:
    event = row("order.recorded")
    event["payload"]["customer"]["first_name"] = "\x1b\x00"
    assert "no printable character" in str(_refused(event))


def test_clean_text_cuts_with_an_ellipsis_and_keeps_clean_text_as_is() -> None:
    assert clean_text("Caisse 1", 250) == "Caisse 1"
    assert clean_text("a\tb\x1b\u2066c", 250) == "a b c"
    cut = clean_text("x" * 300, 250)
    assert len(cut) == 250
    assert cut.endswith("…")


def _with(path: str, value: Any) -> dict[str, Any]:
    return apply(Bad("limit", "order.recorded", {path: value}, path))


@pytest.mark.parametrize(("path", "value"), [
    ("payload.number", "T-1\x1b[2J"),
    ("payload.order_id", "o" * 101),
    ("payload.total_incl_tax", "1" * 13),
    ("payload.lines", [row()["payload"]["lines"][0]] * 1001),
    ("payload.lines[0].label", "a" * 1001),
    ("payload.lines[0].quantity", "1" * 13),
    ("shop_id", "shop[/]"),
    ("event_id", "!row-1"),
])
def test_the_shipped_json_schemas_state_the_same_limits(path: str, value: Any) -> None:
    event = _with(path, value)
    assert path in schema_errors(event)
    with pytest.raises(ContractError):
        parse_event(event)


_HOSTILE = st.sampled_from(["9" * 5000, "1" * 13 + ".00", "-0.001", "T-1\x1b[2J", "\u202e", "\x00", "x" * 1001])
_ANY_JSON = _HOSTILE | st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats() | st.text(max_size=30) | _HOSTILE,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a payload where a value sits."""
    found = [prefix] if prefix else []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in children:
        found += _paths(child, (*prefix, key))
    return found


@settings(max_examples=300, deadline=None)
@given(event_type=st.sampled_from(list(PAYLOADS)), data=st.data(), value=_ANY_JSON)
def test_fuzz_any_json_anywhere_in_a_payload_parses_or_is_one_contract_error(
    event_type: str, data: st.DataObject, value: Any
) -> None:
    event = row(event_type)
    *parents, last = data.draw(st.sampled_from(_paths(event["payload"])))
    target = event["payload"]
    for key in parents:
        target = target[key]
    target[last] = value
    if data.draw(st.booleans()):
        event["payload"] = json.dumps(event["payload"])
    outcome: Event | ContractError
    try:
        outcome = parse_event(event)
    except ContractError as error:  # anything else (RecursionError, ValueError, TypeError) fails the test
        outcome = error
    assert isinstance(outcome, Event) or outcome.field.startswith(("payload", "aggregate_id")), outcome
