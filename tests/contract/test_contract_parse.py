"""parse_event on the contract's examples and on every bad case of the shared table."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from contract_badcases import CASES, Bad, apply
from contract_examples import row

from outboxd.contract import OrderRecorded, PaymentRecorded, parse_event, parse_payload
from outboxd.exceptions import ContractError


@pytest.mark.parametrize("event_type", ["order.recorded", "payment.recorded", "register.closed", "reference.updated"])
def test_contract_examples_parse_from_text_and_from_dict(event_type: str) -> None:
    decoded = row(event_type)
    as_text = {**decoded, "id": 7, "payload": json.dumps(decoded["payload"])}
    assert parse_event(as_text).payload == parse_event(decoded).payload
    assert parse_event(as_text).id == 7
    assert parse_event(decoded).id is None


def test_the_worked_example_reads_as_cents_and_tenths() -> None:
    event = parse_event(row())
    order = event.payload
    assert isinstance(order, OrderRecorded)
    assert [(line.vat_rate, line.total_incl_tax) for line in order.lines] == [(200, 2998), (55, 1260), (100, 1250)]
    assert order.total_incl_tax == 5008
    assert order.business_date == dt.date(2026, 3, 14)
    assert event.occurred_at.utcoffset() == dt.timedelta(hours=1)
    assert order.customer is not None
    assert order.customer.last_name == "Dupont"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_row_is_rejected_on_its_field(case: Bad) -> None:
    with pytest.raises(ContractError) as caught:
        parse_event(apply(case))
    assert caught.value.field == case.field
    assert caught.value.problem
    assert caught.value.fix


def test_amount_error_says_what_to_send() -> None:
    bad = row()
    bad["payload"]["lines"][2]["total_incl_tax"] = 12.5
    with pytest.raises(ContractError, match=r'payload.lines\[2\].total_incl_tax: .*number.*"12.50"'):
        parse_event(bad)


def test_unknown_extra_fields_are_ignored() -> None:
    extra = row()
    extra["schema_version"] = 2
    extra["payload"]["loyalty_points"] = 12
    extra["payload"]["lines"][0]["ean"] = "3760000000000"
    assert parse_event(extra).payload == parse_event(row()).payload


def test_currency_defaults_to_eur_and_anonymous_customer_is_none() -> None:
    anonymous = row()
    del anonymous["payload"]["currency"]
    anonymous["payload"]["customer"] = None
    order = parse_event(anonymous).payload
    assert isinstance(order, OrderRecorded)
    assert (order.currency, order.customer) == ("EUR", None)


def test_company_customer_needs_only_a_name() -> None:
    company = row()
    company["payload"]["customer"] = {"id": "c-9", "type": "company", "name": "Atelier Lumière", "vat_number": None}
    order = parse_event(company).payload
    assert isinstance(order, OrderRecorded)
    assert order.customer is not None
    assert (order.customer.name, order.customer.first_name, order.customer.address) == ("Atelier Lumière", None, None)


def test_credit_note_with_negative_amounts_and_a_breakdown_parses() -> None:
    note = row()
    payload = note["payload"]
    for line in payload["lines"]:
        line["total_incl_tax"] = "-" + line["total_incl_tax"]
        line["quantity"] = "-" + line["quantity"]
    payload["discounts"] = [{"label": "Remise", "amount_incl_tax": "-5.00"}]
    for vat_row in payload["vat_breakdown"]:
        vat_row["base"], vat_row["vat"] = "-" + vat_row["base"], "-" + vat_row["vat"]
    payload["total_incl_tax"] = "-50.08"
    order = parse_event(note).payload
    assert isinstance(order, OrderRecorded)
    assert order.total_incl_tax == -5008


def test_ticket_without_breakdown_is_checked_on_its_total_only() -> None:
    plain = row()
    del plain["payload"]["vat_breakdown"]
    order = parse_event(plain).payload
    assert isinstance(order, OrderRecorded)
    assert order.vat_breakdown is None


def test_parse_payload_alone_and_unknown_type() -> None:
    payment = parse_payload("payment.recorded", row("payment.recorded")["payload"])
    assert isinstance(payment, PaymentRecorded)
    assert payment.amount == 3000
    with pytest.raises(ContractError) as caught:
        parse_payload("order.deleted", {})
    assert caught.value.field == "event_type"


@pytest.mark.parametrize(
    "stamp", ["2026-03-14T18:02:11Z", "2026-03-14T18:02:11.123+01:00", "2026-03-14T18:02:11-05:00"])
def test_rfc3339_timestamps_with_offsets_are_accepted(stamp: str) -> None:
    assert parse_event({**row(), "occurred_at": stamp}).occurred_at.tzinfo is not None
