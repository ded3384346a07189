"""A day of contract 1.1 through the real daemon against the simulator: a tie broken the other way, a discount on
one line, a chapter at two rates, a gift card sold then spent, and its Z. The trial balance is the one computed by
hand below (not by the rules engine), every ticket is lettered with its payment, and the Z is checked and matches."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from daemon_bench import bench, until

pytestmark = pytest.mark.timeout(60)

DAY = dt.date(dt.date.today().year, 1, 12).isoformat()
REFERENCE = {"registers": [{"id": "r1", "name": "Caisse 1"}],
             "payment_methods": [{"id": "cash", "label": "Espèces", "kind": "cash"},
                                 {"id": "cb", "label": "Carte bancaire", "kind": "card"},
                                 {"id": "kdo", "label": "Carte cadeau", "kind": "gift_card"}],
             "vat_rates": [{"rate": "20"}, {"rate": "5.5"}, {"rate": "0"}],
             "chapters": [{"id": "textile", "label": "Textile", "account": "707100"}], "chapters_enabled": True}
# (label, amount, rate, kind, chapter)
TICKETS: list[tuple[str, list[tuple[str, str, str, str, str | None]], str, list[tuple[str, str, str]] | None, str,
                    str]] = [
    ("T-1", [("Pain", "1.00", "5.5", "goods", None), ("Soda", "1.00", "20", "goods", None)], "0.01",
     [("5.5", "0.94", "0.05"), ("20", "0.83", "0.17")], "1.99", "cash"),
    ("T-2", [("T-shirt", "29.98", "20", "goods", "textile"), ("Confiture", "12.60", "5.5", "goods", None)], "5.00",
     [("20", "20.82", "4.16"), ("5.5", "11.94", "0.66")], "37.58", "cb"),
    ("T-3", [("Polo", "24.00", "20", "goods", "textile"), ("Livre", "10.55", "5.5", "goods", "textile")], "0",
     None, "34.55", "cb"),
    ("T-4", [("Carte cadeau", "50.00", "0", "gift_card", None), ("Bougie", "20.00", "20", "goods", None)], "0",
     None, "70.00", "cash"),
    ("T-5", [("Vase", "30.00", "20", "goods", None)], "0", None, "30.00", "kdo"),
]  # fmt: skip
# net balance (debit - credit) per account, in cents, worked out by hand (docs/accounting.md, examples)
BALANCES = {"5301": 7199, "5115": 7213, "4191": -2000, "707055": -1288, "707200": -4250, "707100200": -4082,
            "707100055": -1000, "44571055": -126, "44571200": -1666}  # fmt: skip


def _row(kind: str, aggregate: str, key: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": f"e-{kind}-{key}", "shop_id": "s1", "event_type": kind, "aggregate_id": aggregate,
            "occurred_at": f"{DAY}T18:02:11+01:00", "payload": payload}  # fmt: skip


def _rows() -> list[dict[str, Any]]:
    rows = [_row("reference.updated", "reference", "1", REFERENCE)]
    for number, lines, discount, breakdown, total, method in TICKETS:
        order_id = f"o-{number}"
        order: dict[str, Any] = {
            "order_id": order_id, "number": number, "register_id": "r1", "business_date": DAY, "customer": None,
            "lines": [{"label": label, "quantity": "1", "total_incl_tax": amount, "vat_rate": rate, "kind": kind,
                       "chapter": chapter} for label, amount, rate, kind, chapter in lines],
            "discounts": [{"label": "Remise", "amount_incl_tax": discount}] if discount != "0" else [],
            "total_incl_tax": total,
        }  # fmt: skip
        if breakdown is not None:
            order["vat_breakdown"] = [{"rate": rate, "base": base, "vat": vat} for rate, base, vat in breakdown]
        rows.append(_row("order.recorded", f"order:{order_id}", order_id, order))
        rows.append(_row("payment.recorded", f"order:{order_id}", f"p-{number}", {
            "payment_id": f"p-{number}", "order_id": order_id, "register_id": "r1", "business_date": DAY,
            "method_id": method, "amount": total}))  # fmt: skip
    rows.append(_row("register.closed", "register:r1", "z1", {
        "closing_id": "z-1", "register_id": "r1", "z_number": 1, "business_date": DAY,
        "opened_at": f"{DAY}T08:00:00+01:00", "closed_at": f"{DAY}T20:00:00+01:00", "sales_total_incl_tax": "174.12",
        "receipts": [{"method_id": "cash", "expected": "71.99", "counted": "71.99"},
                     {"method_id": "cb", "expected": "72.13", "counted": "72.13"},
                     {"method_id": "kdo", "expected": "30.00", "counted": "30.00"}]}))  # fmt: skip
    return rows


async def test_a_day_of_contract_1_1_books_to_the_hand_computed_balance(tmp_path: Path) -> None:
    rows = _rows()
    async with bench(tmp_path) as b:
        assert b.daemon is not None
        store = b.daemon.store
        b.insert(rows)

        async def done() -> bool:
            stats = await store.queue.stats("s1")
            lettered = [await store.letterings.get("s1", f"o-{t[0]}") for t in TICKETS]
            settled = bool(stats) and stats[0].delivered + stats[0].failed >= len(rows)
            return settled and all(x is not None and x.state == "lettered" for x in lettered)

        await until(done, 40, "every event delivered and every ticket lettered")
        assert not await store.queue.failed()
        balance = b.sandbox.trial_balance(b.companies["s1"])
        net = {number: debit - credit for number, (debit, credit) in balance.items() if debit != credit}
        assert net == BALANCES
        closings = await b.client.closings("s1", since=DAY)
        assert (closings["checked"], closings["mismatches"]) == (1, 0)
        [z] = closings["closings"]
        assert z["sales"] == {"expected": "174.12", "booked": "174.12", "difference": "0.00"}
        accounts = {a.number: a.vat_rate for a in b.sandbox.companies[b.companies["s1"]].accounts.values()}
        assert (accounts["707100200"], accounts["707100055"], accounts["4191"]) == ("FR_200", "FR_55", "")
