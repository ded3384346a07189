"""A sealed ticket whose printed VAT breakdown spreads a discount otherwise than the bridge: booked as printed, through
the real daemon against the simulator, with the difference as a note in the delivery's detail (contract 1.1)."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest
from bridge_setup import Bridge, wait_until

from outboxd.daemon import Daemon
from outboxd.pennylane_simulator import Sandbox, run_sandbox

pytestmark = pytest.mark.timeout(60)

REFERENCE = {"registers": [{"id": "r1", "name": "Caisse 1"}],
             "payment_methods": [{"id": "cb", "label": "Carte bancaire", "kind": "card"}],
             "vat_rates": [{"rate": "20"}, {"rate": "5.5"}], "chapters": [], "chapters_enabled": False}
TIE = {
    "order_id": "o-501", "number": "T-000501", "register_id": "r1", "business_date": "2026-03-14", "customer": None,
    "lines": [{"label": "Pain", "quantity": "1", "total_incl_tax": "1.00", "vat_rate": "5.5", "kind": "goods",
               "chapter": None},
              {"label": "Soda", "quantity": "1", "total_incl_tax": "1.00", "vat_rate": "20", "kind": "goods",
               "chapter": None}],
    "discounts": [{"label": "Remise", "amount_incl_tax": "0.01"}],
    "vat_breakdown": [{"rate": "5.5", "base": "0.94", "vat": "0.05"}, {"rate": "20", "base": "0.83", "vat": "0.17"}],
    "total_incl_tax": "1.99",
}  # fmt: skip


def _row(event_id: str, event_type: str, aggregate: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": event_id, "shop_id": "s1", "event_type": event_type, "aggregate_id": aggregate,
            "occurred_at": "2026-03-14T18:02:11+01:00", "payload": copy.deepcopy(payload)}  # fmt: skip


async def test_a_tie_broken_the_other_way_is_booked_as_printed_with_a_note(tmp_path: Path) -> None:
    sandbox = Sandbox(rate_limit=None)
    async with run_sandbox(sandbox) as handle:
        company = sandbox.add_company("Boutique s1").id
        bridge = Bridge(tmp_path / "bridge", handle.api_url, {"s1": sandbox.issue_api_token(company)}).write()
        bridge.insert([_row("e-ref", "reference.updated", "reference", REFERENCE),
                       _row("e-tie", "order.recorded", "order:o-501", TIE)])  # fmt: skip
        daemon = Daemon(bridge.config())
        runner = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.ready.wait(), 10)

            async def settled() -> bool:
                stats = await daemon.store.queue.stats("s1")
                return bool(stats) and stats[0].delivered + stats[0].failed == 2

            await wait_until(settled, 30, "both events settled")
            assert not await daemon.store.queue.failed()
            [entry] = [e for e in sandbox.entries(company) if e.piece_number == "T-000501-r1"]
            assert sorted(line.credit for line in entry.lines if line.credit) == [5, 17, 83, 94]
            details = [await daemon.store.queue.detail(i) for i in (1, 2)]
            [order] = [d for d in details if d is not None and d.delivery.event_type == "order.recorded"]
            assert order.delivery.state == "delivered"
            note = order.attempts[-1].message or ""
            assert "printed VAT breakdown" in note
            assert "5.5 % printed 0.99, spread 1.00" in note
        finally:
            daemon.stop()
            await asyncio.wait_for(runner, 20)
