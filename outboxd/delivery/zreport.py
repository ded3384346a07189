"""The Z control of one closing, read from the state database (docs/accounting.md, "The Z control").

A closing is compared with what the bridge delivered for its register and business day: the payments per method
against the Z's ``expected``, the tickets against its ``sales_total_incl_tax``. The comparison is conclusive only
once none of that day's deliveries is open (pending, in flight, retried, failed): before that a difference may
vanish seconds later, so it is neither logged nor counted as a mismatch.

A module of its own, beside ``deliver.py`` rather than under ``control/``: the delivery path logs the comparison
when a closing is delivered, and ``control/`` imports ``deliver.py`` (importing back from it would be a cycle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from outboxd.money import format_cents
from outboxd.rules import ZControl, z_control

if TYPE_CHECKING:
    from outboxd.contract import RegisterClosed
    from outboxd.store import Store

__all__ = ["ZReport", "warn_z_mismatch", "z_report"]


@dataclass(frozen=True, slots=True)
class ZReport:
    """One closing's control and how many deliveries of its register and day are still open."""

    control: ZControl
    open: int

    @property
    def conclusive(self) -> bool:
        """Nothing of the day is left to deliver: what differs now stays different."""
        return self.open == 0

    @property
    def mismatch(self) -> bool:
        return self.conclusive and self.control.differs

    def differences(self) -> dict[str, str]:
        """Per method (and ``sales_total_incl_tax``), ``delivered - expected`` where it is not zero."""
        rows = (*self.control.rows, self.control.sales)
        return {row.method_id: format_cents(row.difference) for row in rows if row.difference}


async def z_report(store: Store, shop_id: str, closing: RegisterClosed) -> ZReport:
    """The closing against what is delivered now for its register and day."""
    day = await store.closings.register_day(shop_id, closing.register_id, closing.business_date)
    return ZReport(z_control(closing, day.payments, day.sales), day.open)


async def warn_z_mismatch(store: Store, shop_id: str, closing: RegisterClosed, log: Any) -> ZReport:
    """Log ``closing.z_mismatch`` on ``log`` (the delivery's bound logger) when the closing just delivered does not
    match what was delivered for its day, and nothing of that day is still open; else say, at debug level, that the
    check waits (the closings report reads it again when asked)."""
    report = await z_report(store, shop_id, closing)
    where = {"shop": shop_id, "register": closing.register_id, "z_number": closing.z_number,
             "business_date": closing.business_date.isoformat()}  # fmt: skip
    if report.mismatch:
        log.warning("closing.z_mismatch", **where, differences=report.differences())
    elif not report.conclusive:
        log.debug("closing.z_check_waits", **where, open=report.open)
    return report
