"""The words a shop's mapping is written in: payment kinds, sales kinds, customer modes (shared by the mapping and
its TOML reader)."""

from __future__ import annotations

from typing import Literal

from outboxd.contract.models import PaymentMethodKind

__all__ = ["CUSTOMER_MODES", "PAYMENT_KINDS", "SALES_KINDS", "CustomerMode"]

CustomerMode = Literal["all", "on_account", "none"]
"""Which tickets book on the customer's own 411 account: every ticket with a customer (``all``); in daily
booking, only those the customer leaves owing (``on_account``: a paid ticket books no 411 line and pushes no
personal data; detailed booking cannot know and books as ``all``); none (``none``: the counter customer)."""

PAYMENT_KINDS: tuple[PaymentMethodKind, ...] = ("cash", "card", "cheque", "transfer", "voucher", "gift_card", "other")
SALES_KINDS = ("goods", "service", "other")
CUSTOMER_MODES: tuple[CustomerMode, ...] = ("all", "on_account", "none")
