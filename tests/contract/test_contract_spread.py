"""money.spread_discount: the discount spread the contract, the rules engine and the simulator share."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outboxd.money import spread_discount


def test_worked_example_of_accounting_md() -> None:
    assert spread_discount({200: 2998, 55: 1260, 100: 1250}, 500) == {200: 272, 55: 114, 100: 114}


def test_credit_note_spreads_like_the_ticket() -> None:
    assert spread_discount({200: -2998, 55: -1260, 100: -1250}, -500) == {200: -272, 55: -114, 100: -114}


def test_ties_go_to_the_larger_gross_then_the_higher_rate() -> None:
    assert spread_discount({55: 100, 200: 300}, 1) == {55: 0, 200: 1}
    assert spread_discount({55: 100, 200: 100}, 1) == {55: 0, 200: 1}
    assert spread_discount({200: 100, 55: 100}, 1) == {200: 1, 55: 0}


def test_no_discount_and_zero_gross() -> None:
    assert spread_discount({200: 0, 100: 500}, 0) == {200: 0, 100: 0}
    with pytest.raises(ValueError, match="zero"):
        spread_discount({200: 100, 100: -100}, 10)


@given(st.dictionaries(st.sampled_from([0, 21, 55, 100, 200]), st.integers(1, 10**7), min_size=1),
       st.integers(-(10**6), 10**6))
def test_shares_add_up_and_stay_within_a_cent_of_exact(gross: dict[int, int], discount: int) -> None:
    shares = spread_discount(gross, discount)
    assert sum(shares.values()) == discount
    total = sum(gross.values())
    for rate, amount in gross.items():
        assert abs(shares[rate] * total - discount * amount) < total  # |share - exact| < 1 cent
