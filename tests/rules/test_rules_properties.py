"""Properties over generated tickets and payments: balance, wire form, exact VAT, mirrored credit notes, a day."""

from __future__ import annotations

import dataclasses
import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st
from rules_builders import DAY, MARIE, REFERENCE, event, negated_order, payment

from outboxd.contract.models import Discount, OrderLine, OrderRecorded, VatBreakdownRow
from outboxd.delivery.deliver import ledger_entry
from outboxd.rules import CustomerAccount, LedgerAccount, ShopMapping, book, effective_mapping
from outboxd.rules.entries import Entry

MAPPING = effective_mapping(ShopMapping(), dataclasses.replace(REFERENCE, chapters_enabled=True))
WIRE_AMOUNT = re.compile(r"(0|[1-9][0-9]*)\.[0-9]{2}")
RATES = (200, 100, 55, 21, 0)


def reference_vat(order: OrderRecorded) -> dict[int, tuple[int, int]]:
    """An independent model of ACCOUNTING.md with Fraction and Decimal: rate -> (base, vat) in cents."""
    gross: dict[int, int] = {}
    for line in order.lines:
        gross[line.vat_rate] = gross.get(line.vat_rate, 0) + line.total_incl_tax
    discount = sum(d.amount_incl_tax for d in order.discounts)
    total = sum(gross.values())
    exact = {
        rate: Fraction(abs(discount) * amount * (1 if total > 0 else -1), abs(total)) for rate, amount in gross.items()
    }
    shares = {rate: share.numerator // share.denominator for rate, share in exact.items()}
    order_of_remainders = sorted(
        exact, key=lambda r: (exact[r] - shares[r], gross[r] * (1 if total > 0 else -1), r), reverse=True
    )
    for rate in order_of_remainders[: abs(discount) - sum(shares.values())]:
        shares[rate] += 1
    sign = -1 if discount < 0 else 1
    result = {}
    for rate, amount in gross.items():
        net = Decimal(amount - sign * shares[rate])
        vat = (net * rate / (1000 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        result[rate] = (int(net - vat), int(vat))
    return result


@st.composite
def tickets(draw: st.DrawFn, *, breakdown: bool | None = None) -> OrderRecorded:
    lines = tuple(
        OrderLine(
            f"article {i}",
            "1",
            draw(st.integers(1, 30_000)),
            draw(st.sampled_from(RATES)),
            draw(st.sampled_from(["goods", "service", "other"])),
            draw(st.sampled_from([None, None, "textile"])),
        )
        for i in range(draw(st.integers(1, 8)))
    )
    gross = sum(line.total_incl_tax for line in lines)
    discount = draw(st.integers(0, gross))
    order = OrderRecorded(
        order_id=f"o-{draw(st.integers(1, 10**6))}",
        number=f"T-{draw(st.integers(1, 999_999)):06d}",
        register_id=draw(st.sampled_from(["r1", "r2"])),
        business_date=DAY,
        currency="EUR",
        customer=draw(st.sampled_from([None, MARIE])),
        lines=lines,
        discounts=(Discount("remise", discount),) if discount else (),
        vat_breakdown=None,
        total_incl_tax=gross - discount,
    )
    if breakdown if breakdown is not None else draw(st.booleans()):
        rows = tuple(VatBreakdownRow(rate, base, vat) for rate, (base, vat) in reference_vat(order).items())
        order = dataclasses.replace(order, vat_breakdown=rows)
    return order


def assert_sound(entry: Entry) -> None:
    assert sum(line.debit for line in entry.lines) == sum(line.credit for line in entry.lines)
    assert all((line.debit == 0) != (line.credit == 0) for line in entry.lines)
    for wire in ledger_entry(entry, 1, {line.account: 1 for line in entry.lines}).body()["ledger_entry_lines"]:
        assert WIRE_AMOUNT.fullmatch(str(wire["debit"]))
        assert WIRE_AMOUNT.fullmatch(str(wire["credit"]))
    assert len(entry.piece_number) <= 64


@given(tickets())
@settings(max_examples=300)
def test_every_ticket_balances_and_renders_to_two_decimals(order: OrderRecorded) -> None:
    for entry in book(event(order), MAPPING).entries:
        assert_sound(entry)


@given(tickets())
@settings(max_examples=300)
def test_base_and_vat_per_rate_add_up_to_the_ticket(order: OrderRecorded) -> None:
    booking = book(event(order), MAPPING)
    expected = {rate: bv for rate, bv in reference_vat(order).items() if bv != (0, 0)}
    if not booking.entries:
        assert order.total_incl_tax == 0
        assert booking.notes
        return
    [entry] = booking.entries
    vat_by_rate: dict[int, int] = {}
    base_total = 0
    for line in entry.lines:
        account = line.account
        if isinstance(account, LedgerAccount) and account.number.startswith("44571"):
            vat_by_rate[int(account.number[5:])] = line.credit - line.debit
        elif isinstance(account, LedgerAccount) and account.number != "411000":
            base_total += line.credit - line.debit
    assert vat_by_rate == {rate: vat for rate, (_, vat) in expected.items() if vat}
    assert base_total == sum(base for base, _ in expected.values())
    assert base_total + sum(vat_by_rate.values()) == order.total_incl_tax
    assert entry.lines[0].debit == order.total_incl_tax


@given(tickets())
@settings(max_examples=300)
def test_a_credit_note_mirrors_its_sale(order: OrderRecorded) -> None:
    sale = book(event(order), MAPPING).entries
    refund = book(event(negated_order(order)), MAPPING).entries
    assert len(sale) == len(refund)
    for sold, returned in zip(sale, refund, strict=True):
        assert [(ln.account, ln.debit, ln.credit) for ln in sold.lines] == [
            (ln.account, ln.credit, ln.debit) for ln in returned.lines
        ]
        assert returned.label.startswith("Avoir")


@given(st.integers(-(10**8), 10**8).filter(bool), st.sampled_from(["cash", "cb", "chq", "vir", "tr"]))
def test_payments_and_refunds_balance(amount: int, method: str) -> None:
    [entry] = book(event(payment("p-1", method, amount)), MAPPING).entries
    assert_sound(entry)
    assert entry.lines[0].debit - entry.lines[0].credit == amount


@given(st.lists(tickets(), min_size=1, max_size=15), st.data())
@settings(max_examples=100)
def test_a_day_of_customer_debits_and_credits_matches_tickets_and_payments(
    orders: list[OrderRecorded], data: st.DataObject
) -> None:
    debits = credits = paid = 0
    for number, order in enumerate(orders):
        order = dataclasses.replace(order, order_id=f"o-{number}")
        for entry in book(event(order), MAPPING).entries:
            for line in entry.lines:
                if isinstance(line.account, CustomerAccount) or getattr(line.account, "number", "") == "411000":
                    debits += line.debit
                    credits += line.credit
        left = order.total_incl_tax
        split = data.draw(st.integers(0, max(left, 0)))
        for index, amount in enumerate((split, left - split)):
            if amount:
                method = data.draw(st.sampled_from(["cash", "cb", "tr"]))
                for entry in book(
                    event(payment(f"p-{number}-{index}", method, amount, order.order_id)), MAPPING
                ).entries:
                    credits += sum(line.credit for line in entry.lines if not isinstance(line.account, LedgerAccount))
                    paid += amount
    assert debits == sum(order.total_incl_tax for order in orders)
    assert credits == paid == debits
