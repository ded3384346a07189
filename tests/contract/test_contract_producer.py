"""The DDL files and the producer helper, on real SQLite files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from contract_examples import row

from outboxd.contract import ddl, parse_event
from outboxd.outbox import ensure_outbox, insert_events, open_outbox


def test_sqlite_ddl_is_the_contract_table() -> None:
    text = ddl("sqlite")
    for column in ("id           INTEGER PRIMARY KEY AUTOINCREMENT", "event_id     TEXT NOT NULL UNIQUE",
                   "occurred_at  TEXT NOT NULL", "payload      TEXT NOT NULL", "strftime('%Y-%m-%dT%H:%M:%fZ','now')"):
        assert column in text


def test_postgres_ddl_uses_the_postgres_types() -> None:
    text = ddl("postgres")
    for word in ("BIGSERIAL PRIMARY KEY", "TIMESTAMPTZ NOT NULL", "JSONB NOT NULL",
                 "ON CONFLICT (event_id) DO NOTHING"):
        assert word in text


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="mysql"):
        ddl("mysql")


def test_ensure_outbox_creates_a_wal_database_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    ensure_outbox(path)
    ensure_outbox(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        columns = [c[1] for c in conn.execute("PRAGMA table_info(outbox)")]
    assert columns == ["id", "event_id", "shop_id", "event_type", "aggregate_id", "occurred_at", "payload",
                       "created_at"]


def test_insert_or_ignore_on_event_id(tmp_path: Path) -> None:
    conn = open_outbox(tmp_path / "outbox.db")
    events = [row("reference.updated"), row("order.recorded"), row("payment.recorded")]
    assert insert_events(conn, events) == 3
    assert insert_events(conn, events) == 0
    retried = {**row("payment.recorded"), "event_id": "e-new"}
    assert insert_events(conn, [events[1], retried]) == 1
    stored = conn.execute("SELECT id, event_id, shop_id, event_type, aggregate_id, occurred_at, payload, created_at "
                          "FROM outbox ORDER BY id").fetchall()
    conn.close()
    ids = [s[0] for s in stored]
    assert ids == sorted(ids)
    assert len(set(ids)) == 4
    assert [s[1] for s in stored] == ["e-reference.updated", "e-order.recorded", "e-payment.recorded", "e-new"]
    assert stored[0][7].endswith("Z")
    keys = ("id", "event_id", "shop_id", "event_type", "aggregate_id", "occurred_at", "payload")
    parsed = parse_event(dict(zip(keys, stored[1][:7], strict=True)))
    assert parsed.id == 2
    assert parsed.payload == parse_event(row("order.recorded")).payload


def test_payload_text_is_stored_as_given(tmp_path: Path) -> None:
    conn = open_outbox(tmp_path / "outbox.db")
    text = json.dumps(row()["payload"])
    insert_events(conn, [{**row(), "payload": text}])
    assert conn.execute("SELECT payload FROM outbox").fetchone() == (text,)
    conn.close()


def test_a_failing_batch_inserts_nothing(tmp_path: Path) -> None:
    conn = open_outbox(tmp_path / "outbox.db")
    broken = row()
    del broken["aggregate_id"]
    with pytest.raises(KeyError, match="aggregate_id"):
        insert_events(conn, [row("reference.updated"), broken])
    assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
    conn.close()
