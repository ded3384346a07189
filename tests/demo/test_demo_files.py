"""The demo's outbox is one consistent business: every register-day's Z expects exactly the payments written for that
register and day, the 8.5 % ticket included, so once that ticket is fixed and retried every closing matches."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path

from outboxd.demo.daemon import installed_command
from outboxd.demo.files import Endpoints, write_demo_files
from outboxd.demo.session import DemoOptions, _banner
from outboxd.demo.tickets import POISON_ORDER
from outboxd.money import parse_amount

ENDPOINTS = Endpoints("http://a", "http://b", "http://c", "http://d", 1, 2)


def _rows(outbox: Path) -> list[tuple[str, dict[str, object]]]:
    with closing(sqlite3.connect(outbox)) as conn:
        return [(t, json.loads(p)) for t, p in conn.execute("SELECT event_type, payload FROM outbox ORDER BY id")]


def test_every_z_of_the_demo_expects_the_payments_of_its_register_and_day(tmp_path: Path) -> None:
    files = write_demo_files(tmp_path / "demo", tmp_path / "control.sock", ENDPOINTS, today=dt.date(2026, 3, 10))
    rows = _rows(files.outbox)
    paid: Counter[tuple[str, str, str]] = Counter()
    sold: Counter[tuple[str, str]] = Counter()
    for event_type, p in rows:
        if event_type == "payment.recorded":
            paid[str(p["register_id"]), str(p["business_date"]), str(p["method_id"])] += parse_amount(str(p["amount"]))
        elif event_type == "order.recorded":
            sold[str(p["register_id"]), str(p["business_date"])] += parse_amount(str(p["total_incl_tax"]))
    closings = [p for event_type, p in rows if event_type == "register.closed"]
    assert closings
    for z in closings:
        day = (str(z["register_id"]), str(z["business_date"]))
        receipts = z["receipts"]
        assert isinstance(receipts, list)
        expected = {r["method_id"]: parse_amount(r["expected"]) for r in receipts}
        assert expected == {m: c for (*key, m), c in paid.items() if tuple(key) == day}, day
        assert parse_amount(str(z["sales_total_incl_tax"])) == sold[day], day
    poison = [p for event_type, p in rows if event_type == "order.recorded" and p["order_id"] == POISON_ORDER]
    assert len(poison) == 1
    assert "poison" not in json.dumps([p for _, p in rows])  # a code name only: nothing of it reaches Pennylane


def test_the_headless_banner_gives_ctl_commands_with_their_full_path_one_line_per_step(tmp_path: Path) -> None:
    files = write_demo_files(tmp_path / "demo", tmp_path / "control.sock", ENDPOINTS, today=dt.date(2026, 3, 10))

    class Simulator:
        base_url = "http://127.0.0.1:1"

    def banner(tui: bool) -> str:
        return _banner(DemoOptions(tui=tui), files, Simulator(), 1000, "http://127.0.0.1:3/cb", ENDPOINTS, 42)  # type: ignore[arg-type]

    headless = banner(tui=False)
    assert "press" not in headless
    assert "dashboard" not in headless
    ctl = f"{installed_command()[0]} ctl --socket {files.socket}"
    assert Path(installed_command()[0]).is_absolute()
    steps = [line for line in headless.splitlines() if line.startswith(("  1.", "  2.", "  3."))]
    assert len(steps) == 3  # one line each: the terminal wraps them, a copy keeps them whole
    assert all(f"`{ctl} " in step for step in steps)
    assert "c (Connect), then s (start OAuth)" in banner(tui=True)
