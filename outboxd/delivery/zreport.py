"""The Z control of one closing, read from the state database (docs/accounting.md, "The Z control").

A module of its own, beside ``deliver.py`` rather than under ``control/``: the delivery path logs the comparison
when a closing is delivered, and ``control/`` imports ``deliver.py`` (importing back from it would be a cycle).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from outboxd.money import format_cents
from outboxd.rules import ZControlRow, z_control

if TYPE_CHECKING:
    from outboxd.contract import RegisterClosed
    from outboxd.store import Store

__all__ = ["warn_z_mismatch", "z_rows"]


async def z_rows(store: Store, shop_id: str, closing: RegisterClosed) -> list[ZControlRow]:
    """Per method, the Z's expected against the payments delivered so far for its register and day."""
    paid = await store.closings.delivered_payments(shop_id, closing.register_id, closing.business_date)
    return z_control(closing, paid)


async def warn_z_mismatch(store: Store, shop_id: str, closing: RegisterClosed, log: Any) -> list[ZControlRow]:
    """Log ``closing.z_mismatch`` on ``log`` (the delivery's bound logger) when the payments delivered so far do
    not match the Z just delivered. Premature when payments of the day are still in flight: the report is the truth.
    """
    rows = await z_rows(store, shop_id, closing)
    differences = {r.method_id: format_cents(r.difference) for r in rows if r.difference}
    if differences:
        log.warning("closing.z_mismatch", shop=shop_id, register=closing.register_id, z_number=closing.z_number,
                    business_date=closing.business_date.isoformat(), differences=differences)  # fmt: skip
    return rows
