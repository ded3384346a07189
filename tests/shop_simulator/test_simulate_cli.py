"""outboxd simulate | enqueue, end to end into real SQLite outboxes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from outboxd.cli import main
from outboxd.contract import parse_event

OUTBOXD = Path(sys.executable).parent / "outboxd"
SIMULATE = ["simulate", "--shop", "shop-cli", "--days", "2", "--orders-per-day", "40", "--registers", "2",
            "--seed", "5", "--start", "2026-03-14"]


def _rows(path: Path) -> list[tuple[str, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT id, event_id, shop_id, event_type, aggregate_id, occurred_at, payload "
                            "FROM outbox ORDER BY id").fetchall()


def test_simulate_then_enqueue_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jsonl, outbox = tmp_path / "shop.jsonl", tmp_path / "outbox.db"
    assert main([*SIMULATE, "--out", str(jsonl)]) == 0
    lines = jsonl.read_text(encoding="utf-8").splitlines()
    assert main(["enqueue", str(jsonl), "--outbox", str(outbox)]) == 0
    assert f"valid {len(lines)}, rejected 0, inserted {len(lines)}" in capsys.readouterr().out
    stored = _rows(outbox)
    assert [r[1] for r in stored] == [json.loads(line)["event_id"] for line in lines]
    keys = ("id", "event_id", "shop_id", "event_type", "aggregate_id", "occurred_at", "payload")
    assert all(parse_event(dict(zip(keys, r, strict=True))).shop_id == "shop-cli" for r in stored)
    assert main(["enqueue", str(jsonl), "--outbox", str(outbox)]) == 0
    assert "inserted 0, already present" in capsys.readouterr().out
    assert len(_rows(outbox)) == len(lines)


def test_simulate_into_an_outbox_equals_simulate_then_enqueue(tmp_path: Path) -> None:
    jsonl, direct, queued = tmp_path / "shop.jsonl", tmp_path / "direct.db", tmp_path / "queued.db"
    assert main([*SIMULATE, "--outbox", str(direct)]) == 0
    assert main([*SIMULATE, "--out", str(jsonl)]) == 0
    assert main(["enqueue", str(jsonl), "--outbox", str(queued)]) == 0
    assert [r[1:] for r in _rows(direct)] == [r[1:] for r in _rows(queued)]


def test_enqueue_rejects_bad_lines_with_their_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jsonl, outbox = tmp_path / "mixed.jsonl", tmp_path / "outbox.db"
    assert main([*SIMULATE, "--out", str(jsonl)]) == 0
    good = jsonl.read_text(encoding="utf-8").splitlines()[:3]
    bad_amount = json.loads(good[1])
    bad_amount["payload"]["total_incl_tax"] = 12.5
    jsonl.write_text("\n".join([good[0], "{not json", json.dumps(bad_amount), "", good[2]]) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["enqueue", str(jsonl), "--outbox", str(outbox)]) == 1
    err = capsys.readouterr().err
    assert f"{jsonl}:2: rejected: not valid JSON" in err
    assert f"{jsonl}:3: rejected: payload.total_incl_tax:" in err
    assert not outbox.exists() or _rows(outbox) == []
    assert main(["enqueue", str(jsonl), "--outbox", str(outbox), "--skip-invalid"]) == 0
    assert "valid 2, rejected 2, inserted 2" in capsys.readouterr().out
    assert len(_rows(outbox)) == 2


def test_enqueue_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["enqueue", str(tmp_path / "nope.jsonl"), "--outbox", str(tmp_path / "o.db")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_installed_command_in_a_subprocess(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.db"
    simulate = subprocess.run([str(OUTBOXD), *SIMULATE], capture_output=True, text=True, check=True, timeout=60)
    enqueue = subprocess.run([str(OUTBOXD), "enqueue", "-", "--outbox", str(outbox)], input=simulate.stdout,
                             capture_output=True, text=True, check=False, timeout=60)
    assert enqueue.returncode == 0, enqueue.stderr
    count = len(simulate.stdout.splitlines())
    assert f"inserted {count}" in enqueue.stdout
    assert len(_rows(outbox)) == count


def test_variety_adds_the_gift_card_method_and_its_cases(tmp_path: Path) -> None:
    plain, varied = tmp_path / "plain.jsonl", tmp_path / "varied.jsonl"
    assert main([*SIMULATE, "--out", str(plain)]) == 0
    assert main([*SIMULATE, "--variety", "--out", str(varied)]) == 0
    rows = [json.loads(line) for line in varied.read_text(encoding="utf-8").splitlines()]
    assert {"id": "kdo", "label": "Carte cadeau", "kind": "gift_card"} in rows[0]["payload"]["payment_methods"]
    kinds = {line["kind"] for r in rows if r["event_type"] == "order.recorded" for line in r["payload"]["lines"]}
    assert "gift_card" in kinds
    assert "gift_card" not in plain.read_text(encoding="utf-8")
