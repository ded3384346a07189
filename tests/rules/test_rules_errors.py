"""What cannot be booked fails with a BookingError naming the missing mapping and the key that fixes it."""

from __future__ import annotations

import dataclasses

import pytest
from rules_builders import REFERENCE, event, payment, worked_closing, worked_order

from outboxd.contract.models import Receipt, Register, VatBreakdownRow
from outboxd.exceptions import BookingError
from outboxd.rules import ShopMapping, book, effective_mapping


def test_unknown_vat_rate_names_mapping_vat_rates(mapping: ShopMapping) -> None:
    order = worked_order()
    odd = dataclasses.replace(order.lines[0], vat_rate=85)
    with pytest.raises(BookingError) as caught:
        book(event(dataclasses.replace(order, lines=(odd, *order.lines[1:]), vat_breakdown=None)), mapping)
    assert caught.value.what.startswith("vat_rate 8.5")
    assert "mapping.vat_rates" in caught.value.fix


def test_unmapped_payment_method_names_its_key(mapping: ShopMapping) -> None:
    with pytest.raises(BookingError) as caught:
        book(event(payment("p-1", "crypto", 1000)), mapping)
    assert caught.value.what == "payment method crypto"
    assert "mapping.payment_methods.crypto" in caught.value.fix


def test_a_per_method_account_books_a_method_the_reference_does_not_know(mapping: ShopMapping) -> None:
    mapped = dataclasses.replace(mapping, payment_methods={"crypto": "5118"})
    [entry] = book(event(payment("p-1", "crypto", 1000)), mapped).entries
    assert entry.lines[0].account.number == "5118"  # type: ignore[union-attr]


def test_payment_before_any_reference_is_refused() -> None:
    with pytest.raises(BookingError, match=r"mapping\.payment_methods\.cb"):
        book(event(payment("p-1", "cb", 1000)), ShopMapping())


def test_cash_of_a_register_without_number_names_cash_accounts(mapping: ShopMapping) -> None:
    pay = dataclasses.replace(payment("p-1", "cash", 1000), register_id="comptoir")
    with pytest.raises(BookingError, match=r"mapping\.cash_accounts\.comptoir"):
        book(event(pay), mapping)
    fixed = dataclasses.replace(mapping, cash_accounts={"comptoir": "5309"})
    assert book(event(pay), fixed).entries[0].lines[0].account.number == "5309"  # type: ignore[union-attr]


def test_closing_gap_on_unknown_method_names_its_key(mapping: ShopMapping) -> None:
    closing = dataclasses.replace(worked_closing(), receipts=(Receipt("bitcoin", 100, 0),))
    with pytest.raises(BookingError, match=r"mapping\.payment_methods\.bitcoin"):
        book(event(closing), mapping)


def test_chapter_without_account_names_its_key() -> None:
    chapters_on = effective_mapping(ShopMapping(), dataclasses.replace(REFERENCE, chapters=(), chapters_enabled=True))
    with pytest.raises(BookingError, match=r"mapping\.chapters\.accounts\.textile"):
        book(event(worked_order()), chapters_on)


def test_inconsistent_breakdown_is_refused(mapping: ShopMapping) -> None:
    order = worked_order()
    rows = (VatBreakdownRow(200, 2272, 455), *order.vat_breakdown[1:])  # type: ignore[index]
    with pytest.raises(BookingError, match=r"vat_breakdown makes 50\.09"):
        book(event(dataclasses.replace(order, vat_breakdown=rows)), mapping)


def test_inconsistent_total_is_refused(mapping: ShopMapping) -> None:
    with pytest.raises(BookingError, match=r"the ticket says 50\.09"):
        book(event(dataclasses.replace(worked_order(), total_incl_tax=5009)), mapping)


def test_reference_with_an_unmapped_rate_is_refused() -> None:
    with pytest.raises(BookingError, match=r"mapping\.vat_rates"):
        book(event(dataclasses.replace(REFERENCE, vat_rates=(200, 130))), ShopMapping())


def test_reference_warns_when_a_chapter_account_is_a_per_rate_account() -> None:
    one_account_per_chapter = ShopMapping(chapter_rate_suffix=False)
    booking = book(event(dataclasses.replace(REFERENCE, chapters_enabled=True)), one_account_per_chapter)
    assert any("707100" in note and "mapping.chapters.accounts.textile" in note for note in booking.notes)


def test_reference_needs_every_cash_account() -> None:
    reference = dataclasses.replace(REFERENCE, registers=(Register("comptoir", "Comptoir"),))
    with pytest.raises(BookingError, match=r"mapping\.cash_accounts\.comptoir"):
        book(event(reference), ShopMapping())
