"""``outboxd enqueue`` and ``outboxd import`` on hostile lines: every bad line reported with its number and field,
no traceback, exit 1, nothing written."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from contract_examples import row

OUTBOXD = Path(sys.executable).parent / "outboxd"


def _line(changes: dict[str, Any] | None = None, payload: dict[str, Any] | None = None) -> bytes:
    event = row("order.recorded")
    event.update(changes or {})
    event["payload"].update(payload or {})
    return json.dumps(event).encode()


def _hostile_file(tmp_path: Path) -> tuple[Path, dict[int, str]]:
    """Lines and the text each rejection must hold (line number -> expected start of the reason)."""
    deep = json.dumps(row("order.recorded"))[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    lines = {
        1: (json.dumps(row("payment.recorded")).encode(), ""),
        2: (deep.encode(), "not readable: objects or arrays nested too deep"),
        3: (_line(payload={"total_incl_tax": "9" * 5000}), "payload.total_incl_tax: '9999"),
        4: (_line(payload={"number": "T-1\x1b[2J"}), "payload.number: holds the control or bidi character U+001B"),
        5: (b'{"event_id": "caf\xe9"}', "not valid UTF-8"),
        6: (_line(payload={"lines": [{"label": "x"}] * 40_000}), "payload.lines: has 40,000 items, more than 1000"),
        7: (_line(payload={"notes": "n" * 1_100_000}), "payload: is 1,10"),
        8: (_line({"shop_id": "shop[/]"}), "shop_id: 'shop[/]' is not a shop id"),
        9: (b"[1, 2]", "(row): is not a JSON object"),
        10: (b'{"amount": ' + b"1" * 5000 + b"}", "not valid JSON: Exceeds the limit"),
    }
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"\n".join(text for text, _ in lines.values()) + b"\n")
    return path, {n: reason for n, (_, reason) in lines.items() if reason}


@pytest.mark.parametrize("command", ["enqueue", "import"])
def test_every_hostile_line_is_reported_with_its_field_and_nothing_written(tmp_path: Path, command: str) -> None:
    path, reasons = _hostile_file(tmp_path)
    written = tmp_path / "written.db"
    where = ["--outbox", str(written)] if command == "enqueue" else ["--shop", "shop-1", "--state-db", str(written)]
    done = subprocess.run([str(OUTBOXD), command, str(path), *where],
                          capture_output=True, text=True, check=False, timeout=60)  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    for number, reason in reasons.items():
        assert f"{path}:{number}: rejected: {reason}" in done.stderr, done.stderr[-2000:]
    assert not written.exists()


def test_skip_invalid_inserts_the_good_line_alone(tmp_path: Path) -> None:
    path, reasons = _hostile_file(tmp_path)
    outbox = tmp_path / "outbox.db"
    done = subprocess.run([str(OUTBOXD), "enqueue", str(path), "--outbox", str(outbox), "--skip-invalid"],
                          capture_output=True, text=True, check=False, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"valid 1, rejected {len(reasons)}, inserted 1" in done.stdout
    conn = sqlite3.connect(outbox)
    try:
        assert conn.execute("SELECT event_type FROM outbox").fetchall() == [("payment.recorded",)]
    finally:
        conn.close()
