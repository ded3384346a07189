"""The Z control end to end on the real daemon and the simulator: ``GET /v1/shops/{shop}/closings`` and
``outboxd ctl closings`` show, per closing and method, the payments delivered against the Z's ``expected``.

Two simulated days of register r1: day 1's Z expects 2.30 more by its first method than was paid (a mismatch of
-2.30); day 2's Z matches its payments, but one payment is held back: until it is delivered, day 2 shows it
missing, then matches.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog
from daemon_bench import Bench, bench, history, until

from outboxd.cli import ctl
from outboxd.cli import ctl_commands as shell
from outboxd.contract import RegisterClosed, parse_payload
from outboxd.delivery.zreport import warn_z_mismatch
from outboxd.exceptions import BadRequest, NotFound
from outboxd.money import format_cents, parse_amount

pytestmark = pytest.mark.timeout(60)

GAP = 230
"""Cents day 1's Z expects by its first method beyond what was paid."""


def _days() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """(reference + day 1 with its Z's first receipt raised by GAP, day 2 without one payment, that payment)."""
    rows = history("s1", days=2)
    reference, events = rows[0], rows[1:]
    day1, day2 = (list(g) for _, g in itertools.groupby(events, key=lambda r: r["payload"]["business_date"]))
    receipt = day1[-1]["payload"]["receipts"][0]
    receipt["expected"] = format_cents(parse_amount(receipt["expected"]) + GAP)
    held = next(r for r in day2 if r["event_type"] == "payment.recorded")
    return [reference, *day1], [r for r in day2 if r is not held], held


async def _settled(b: Bench, delivered: int) -> bool:
    shop = await b.client.shop("s1")
    return bool(shop["queue_depth"] == 0 and shop["delivered_today"] == delivered)


def _rows(closing: dict[str, Any]) -> dict[str, str]:
    return {r["method_id"]: r["difference"] for r in closing["rows"]}


def _ctl(b: Bench, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    ctl.add_arguments(parser)
    return parser.parse_args(["--socket", str(b.client.socket_path), *argv])


async def test_a_z_mismatch_and_a_payment_in_flight(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second, held = _days()
    z1 = first[-1]["payload"]
    method = z1["receipts"][0]["method_id"]
    async with bench(tmp_path) as b:
        b.insert(first + second)
        await until(lambda: _settled(b, len(first) + len(second)), what="both days delivered")
        said = [line for line in capsys.readouterr().out.splitlines() if "closing.z_mismatch" in line]
        assert any("z_number=1" in line for line in said), said  # logged by the delivery of Z1 itself

        answer = await b.client.closings("s1")
        day1, day2 = sorted(answer["closings"], key=lambda c: c["business_date"])
        assert (day1["z_number"], day1["register_id"], day1["register_name"]) == (1, "r1", "Caisse 1")
        assert day1["mismatch"] is True
        assert _rows(day1) == {m["method_id"]: "-2.30" if m["method_id"] == method else "0.00" for m in z1["receipts"]}
        row = next(r for r in day1["rows"] if r["method_id"] == method)
        assert parse_amount(row["expected"]) - parse_amount(row["delivered"]) == GAP
        missing = held["payload"]
        assert day2["mismatch"] is True
        assert {m: d for m, d in _rows(day2).items() if d != "0.00"} == {missing["method_id"]: f"-{missing['amount']}"}
        assert answer["mismatches"] == 2
        assert answer["checked"] == 2
        assert day1["sales"]["difference"] == "0.00"

        b.insert([held])
        await until(lambda: _settled(b, len(first) + len(second) + 1), what="the held payment delivered")
        answer = await b.client.closings("s1", mismatch_only=True)
        assert [c["business_date"] for c in answer["closings"]] == [day1["business_date"]]
        assert answer["mismatches"] == 1
        everything = await b.client.closings("s1")
        (now2,) = [c for c in everything["closings"] if c["business_date"] == day2["business_date"]]
        assert now2["mismatch"] is False
        assert set(_rows(now2).values()) == {"0.00"}
        assert (await b.client.closings("s1", since=day2["business_date"]))["closings"] == [now2]

        assert await shell.dispatch(_ctl(b, "closings", "s1", "--mismatch")) == 0
        out = capsys.readouterr().out
        assert f"{day1['business_date']}  Z1  Caisse 1 (r1)  ✗ MISMATCH" in out
        assert day2["business_date"] not in out
        (line,) = [ln for ln in out.splitlines() if ln.split()[-1:] == ["-2.30"]]
        assert line.split()[-3:] == [row["expected"], row["delivered"], "-2.30"]
        assert "1 mismatched of 2 checked closings since" in out
        assert "sales total (tickets)" in out
        assert await shell.dispatch(_ctl(b, "--json", "closings", "s1")) == 0
        lines = capsys.readouterr().out.splitlines()  # the in-process daemon logs on the same stdout
        assert json.loads("\n".join(lines[lines.index("{") : lines.index("}") + 1])) == everything

        assert b.daemon is not None
        closing = parse_payload("register.closed", z1)
        assert isinstance(closing, RegisterClosed)
        with structlog.testing.capture_logs() as logs:
            await warn_z_mismatch(b.daemon.store, "s1", closing, structlog.get_logger())
        warning = {"event": "closing.z_mismatch", "log_level": "warning", "shop": "s1", "register": "r1",
                   "z_number": 1, "business_date": day1["business_date"], "differences": {method: "-2.30"}}  # fmt: skip
        assert logs == [warning]
        day2_z = parse_payload("register.closed", second[-1]["payload"])
        assert isinstance(day2_z, RegisterClosed)
        with structlog.testing.capture_logs() as logs:
            await warn_z_mismatch(b.daemon.store, "s1", day2_z, structlog.get_logger())
        assert logs == []

        with pytest.raises(BadRequest, match="since"):
            await b.client.closings("s1", since="14/03/2026")
        with pytest.raises(NotFound):
            await b.client.closings("nowhere")
        connector = aiohttp.UnixConnector(path=str(b.client.socket_path))
        async with (
            aiohttp.ClientSession(connector=connector) as http,
            http.get("http://outboxd/v1/shops/s1/closings", params={"mismatch": "yes"}) as response,
        ):
            assert response.status == 400
            assert (await response.json())["message"] == "mismatch must be 0 or 1, not 'yes'"
