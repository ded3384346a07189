"""``outboxd import``: validates before it writes, holds what it imports, adds nothing the second time."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from outboxd.cli import main
from outboxd.simulator import simulate_shop


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
