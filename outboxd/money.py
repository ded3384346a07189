"""Exact money: amounts are integer cents, VAT rates integer tenths of a percent.

Integers keep the rules engine exact and fast; strings cross every boundary (``"12.50"``, ``"5.5"``).
"""

from __future__ import annotations

import re

__all__ = [
    "format_cents",
    "format_rate",
    "parse_amount",
    "parse_rate",
    "rate_code",
    "round_half_up_div",
    "spread_discount",
]

_AMOUNT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]{1,2})?")
_RATE = re.compile(r"(0|[1-9][0-9]?)(\.[0-9])?")


def parse_amount(text: str) -> int:
    """``"12.5"`` -> 1250. Raises ValueError on anything but a decimal string with at most 2 fraction digits."""
    if not _AMOUNT.fullmatch(text):
        raise ValueError(text)
    negative = text.startswith("-")
    units, _, frac = text.lstrip("-").partition(".")
    cents = int(units) * 100 + int((frac + "00")[:2])
    return -cents if negative else cents


def format_cents(cents: int) -> str:
    """1250 -> ``"12.50"``; -5 -> ``"-0.05"``."""
    sign = "-" if cents < 0 else ""
    units, frac = divmod(abs(cents), 100)
    return f"{sign}{units}.{frac:02d}"


def parse_rate(text: str) -> int:
    """A VAT rate in percent to tenths: ``"5.5"`` -> 55, ``"20"`` -> 200. One fraction digit at most."""
    if not _RATE.fullmatch(text):
        raise ValueError(text)
    units, _, frac = text.partition(".")
    return int(units) * 10 + int(frac or "0")


def format_rate(tenths: int) -> str:
    """55 -> ``"5.5"``, 200 -> ``"20"``: the contract's spelling."""
    units, frac = divmod(tenths, 10)
    return f"{units}.{frac}" if frac else str(units)


def rate_code(tenths: int) -> str:
    """The 3-digit suffix of per-rate accounts: 200 -> ``"200"``, 55 -> ``"055"``, 0 -> ``"000"``."""
    return f"{tenths:03d}"


def round_half_up_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero (Decimal's ROUND_HALF_UP), in integers."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return -quotient if numerator < 0 else quotient


def spread_discount(gross_by_rate: dict[int, int], discount_cents: int) -> dict[int, int]:
    """Share a ticket-level discount over VAT rates in proportion to their gross amounts, to the cent.

    Each rate gets the floor of its exact share; the cents left go one by one to the largest remainders
    (ties: the larger gross, then the higher rate), so the shares always add up to ``discount_cents``.
    A negative discount (on a credit note) is spread like its absolute value, then negated.
    Worked example (ACCOUNTING.md): {200: 2998, 55: 1260, 100: 1250}, 500 -> {200: 272, 55: 114, 100: 114}.
    Raises ValueError when there is a discount but the gross amounts add up to zero.
    """
    total = sum(gross_by_rate.values())
    if discount_cents == 0:
        return dict.fromkeys(gross_by_rate, 0)
    if total == 0:
        raise ValueError("cannot spread a discount over gross amounts that add up to zero")
    sign = -1 if total < 0 else 1
    magnitude = abs(discount_cents)
    shares: dict[int, int] = {}
    remainders: list[tuple[int, int, int]] = []
    for rate, gross in gross_by_rate.items():
        share, remainder = divmod(magnitude * gross * sign, total * sign)
        shares[rate] = share
        remainders.append((remainder, gross * sign, rate))
    left = magnitude - sum(shares.values())
    for _, _, rate in sorted(remainders, reverse=True)[:left]:
        shares[rate] += 1
    if discount_cents < 0:
        return {rate: -share for rate, share in shares.items()}
    return shares
