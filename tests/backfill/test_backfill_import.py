"""``outboxd import``: validates before it writes, holds what it imports, adds nothing the second time, shows a
bar on a terminal; a backfill sends what it imported."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import json
import os
import pty
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from backfill_world import Running, World, expected_balance, settled
from books import folded, net
from bridge_setup import wait_until
from test_backfill_detailed import START, _only_reference_delivered, history

from outboxd.cli import main
from outboxd.shop_simulator import simulate_shop


def _file(tmp_path: Path, extra: list[str]) -> tuple[Path, int]:
    rows = list(simulate_shop("s1", days=2, orders_per_day=3, registers=1, seed=1, start=dt.date(2026, 1, 5)))[1:]
    lines = [json.dumps(r) for r in rows]
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(lines[:2] + extra + lines[2:]) + "\n")
    return path, len(rows)


def test_bad_lines_are_reported_with_their_numbers_and_nothing_is_written(tmp_path, capsys) -> None:
    reference = json.dumps(next(iter(simulate_shop("s1", days=0, orders_per_day=0, registers=1, seed=1,
                                                   start=dt.date(2026, 1, 5)))))  # fmt: skip
    path, _ = _file(tmp_path, ["{not json", '{"event_id": "x"}', reference])
    state = tmp_path / "state.sqlite3"
    assert main(["import", str(path), "--shop", "s1", "--state-db", str(state)]) == 1
    err = capsys.readouterr().err
    assert "history.jsonl:3: rejected: not valid JSON" in err
    assert "history.jsonl:4: rejected" in err
    assert "history.jsonl:5: rejected" in err
    assert "reference" in err
    assert not state.exists()


def test_import_holds_history_and_a_second_run_adds_nothing(tmp_path, capsys) -> None:
    path, n = _file(tmp_path, [])
    state = tmp_path / "state.sqlite3"
    assert main(["import", str(path), "--shop", "s1", "--state-db", str(state)]) == 0
    assert f"{n} event(s) imported" in capsys.readouterr().out
    assert main(["import", str(path), "--shop", "s1", "--state-db", str(state)]) == 0
    assert f"0 event(s) imported for shop s1, {n} already known" in capsys.readouterr().out
    with sqlite3.connect(state) as conn:
        rows = conn.execute("SELECT priority, state, source, count(*) FROM deliveries GROUP BY 1, 2, 3").fetchall()
    assert rows == [(2, "pending", "import", n)]


def test_another_shops_line_is_rejected(tmp_path, capsys) -> None:
    path, _ = _file(tmp_path, [])
    assert main(["import", str(path), "--shop", "s2", "--state-db", str(tmp_path / "s.db"), "--skip-invalid"]) == 0
    assert "not the shop 's2'" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--skip-invalid"])
def test_skip_invalid_imports_the_rest(tmp_path, capsys, flag) -> None:
    path, n = _file(tmp_path, ["{oops"])
    assert main(["import", str(path), "--shop", "s1", "--state-db", str(tmp_path / "s.db"), flag]) == 0
    assert f"{n} event(s) imported" in capsys.readouterr().out


def test_a_terminal_sees_a_bar_and_a_pipe_a_line_per_batch(tmp_path) -> None:
    path, n = _file(tmp_path, [])
    outboxd = str(Path(sys.executable).parent / "outboxd")
    command = [outboxd, "import", str(path), "--shop", "s1", "--state-db", str(tmp_path / "s.db")]
    master, terminal = pty.openpty()
    try:
        subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal, timeout=60)
        os.close(terminal)
        seen = b""
        with contextlib.suppress(OSError):  # EIO once everything written to the terminal is read
            while chunk := os.read(master, 4096):
                seen += chunk
    finally:
        os.close(master)
    assert f"\r[{'#' * 30}] {n}/{n} read, {n} new".encode() in seen
    piped = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert piped.stderr == f"{n}/{n} read, 0 new\n"


@pytest.mark.parametrize("mode", ["detailed", "daily"])
async def test_history_imported_beside_the_running_daemon_is_sent_by_a_backfill(world: World, mode: str) -> None:
    rows = history(days=4, orders=6)
    world.write(rows[:1])  # the outbox holds the shop's reference snapshot; its history comes from a file
    path = world.root / "history.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[1:]))
    async with Running(world.config()) as daemon:
        await wait_until(lambda: _only_reference_delivered(daemon))
        command = ["import", str(path), "--shop", "s1", "--state-db", str(world.state)]
        assert await asyncio.to_thread(main, command) == 0
        assert world.pieces() == {}  # held until a backfill takes it
        estimate = await daemon.backfills.estimate("s1", START.isoformat())
        assert estimate["events"] == len(rows) - 1
        await daemon.backfills.start("s1", "ops", START.isoformat(), mode)
        await wait_until(lambda: settled(daemon))
        assert (await daemon.store.queue.stats("s1"))[0].delivered == len(rows)
        assert max(world.pieces().values()) == 1
        assert net(folded(world.sandbox.trial_balance(world.company))) == net(expected_balance(rows, daemon, "s1"))
        if mode == "detailed":  # daily books no customer line for a ticket paid within its day (customers)
            assert folded(world.sandbox.trial_balance(world.company)) == expected_balance(rows, daemon, "s1")


def test_standard_input_is_checked_then_imported(tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path, n = _file(tmp_path, ["[1, 2]"])
    state = tmp_path / "s.db"
    monkeypatch.setattr(sys, "stdin", io.StringIO(path.read_text()))
    assert main(["import", "-", "--shop", "s1", "--state-db", str(state)]) == 1
    assert "<stdin>:3: rejected: (row): is not a JSON object" in capsys.readouterr().err
    assert not state.exists()
    monkeypatch.setattr(sys, "stdin", io.StringIO(path.read_text()))
    assert main(["import", "-", "--shop", "s1", "--state-db", str(state), "--skip-invalid"]) == 0
    assert f"{n} event(s) imported for shop s1, 0 already known, 1 rejected" in capsys.readouterr().out


def test_a_postgresql_state_database_is_refused_before_anything_is_read(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path, _ = _file(tmp_path, ["{oops"])
    assert main(["import", str(path), "--shop", "s1", "--state-db", "postgresql://db/outboxd"]) == 1
    err = capsys.readouterr().err
    assert "is PostgreSQL: outboxd import writes to a SQLite state database only" in err
    assert "rejected" not in err
