"""Load-time checks of a shop's chart: what would double revenue, move cash, or be refused by Pennylane later.

The mapping's reader checks each key on its own (types, account syntax); these checks look at what the accounts
mean. A mistake here would not fail an event: it would book wrong figures, or fail every ticket at one rate, so
the daemon does not start with it.
"""

from __future__ import annotations

from outboxd.exceptions import ConfigError
from outboxd.money import format_rate
from outboxd.rules.accounts import pennylane_vat_code
from outboxd.rules.mapping import ShopMapping
from outboxd.rules.vat_codes import PENNYLANE_VAT_CODES

__all__ = ["check_chart"]

_MEMO = "a memo account such as 580000 (the default) on both sides"


def check_chart(mapping: ShopMapping, key_prefix: str) -> None:
    """Raises ConfigError naming the key under ``key_prefix`` (``mapping`` or ``shops.<id>.mapping``) and the fix."""
    _check_closing(mapping, key_prefix)
    _check_vat_codes(mapping, key_prefix)


def _check_closing(mapping: ShopMapping, prefix: str) -> None:
    """The Z's global entry repeats what tickets and payments already booked: on revenue or charge accounts it
    counts the sales twice; on a cash or bank account it moves a balance the payments already moved."""
    if not mapping.closing_entry:
        return
    for name, number in (("general_sales", mapping.closing_sales), ("general_receipts", mapping.closing_receipts)):
        key = f"{prefix}.closing.{name}"
        if number[0] in "67":
            raise ConfigError(
                key,
                f"{number} is a class {number[0]} account: the Z total would count the day's sales a second time "
                f"(tickets are booked one by one); use {_MEMO}, or set closing.global_entry = false",
            )
        if number[0] == "5" and not number.startswith("58"):
            raise ConfigError(
                key,
                f"{number} is a cash, bank or securities account (class 5): the Z total would move its balance a "
                f"second time (payments already debit it); use {_MEMO}, or set closing.global_entry = false",
            )


def _check_vat_codes(mapping: ShopMapping, prefix: str) -> None:
    """Every rate's ``vat_rate`` code must be one Pennylane accepts, or each account at that rate is refused."""
    for rate in dict.fromkeys((*mapping.vat_rates, *mapping.vat_codes)):
        code = pennylane_vat_code(mapping, rate)
        if code in PENNYLANE_VAT_CODES:
            continue
        shown = format_rate(rate)
        if rate in mapping.vat_codes:
            raise ConfigError(
                f'{prefix}.vat.codes."{shown}"',
                f"{code!r} is not a vat_rate code Pennylane accepts: use one of its codes, such as FR_200, FR_100, "
                f"FR_55, FR_21, exempt",
            )
        raise ConfigError(
            f"{prefix}.vat_rates",
            f"the rate {shown} % gives the code {code!r}, which Pennylane refuses: set {prefix}.vat.codes."
            f'"{shown}" to the code Pennylane uses for it (FR_200, FR_100, FR_55, FR_21, exempt...), or remove the '
            f"rate",
        )
