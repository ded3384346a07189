"""What Kash.Click does on its side of the outbox, in Python: create the table, insert events.

Synchronous ``sqlite3`` on purpose: the producer writes in its own (synchronous) transaction, and
``INSERT OR IGNORE`` on ``event_id`` makes a retried transaction harmless.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from outboxd.contract import ddl

__all__ = ["INSERT_SQL", "ensure_outbox", "insert_events", "open_outbox", "payload_text"]

INSERT_SQL = (
    "INSERT OR IGNORE INTO outbox (event_id, shop_id, event_type, aggregate_id, occurred_at, payload) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
BUSY_TIMEOUT_MS = 5000


def open_outbox(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open (creating if needed) an outbox database in WAL mode with the contract's table."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(ddl("sqlite"))
    return conn


def ensure_outbox(path: str | os.PathLike[str]) -> None:
    """Create the outbox file (WAL mode, the contract's DDL) if it is not there yet; harmless if it is."""
    open_outbox(path).close()


def payload_text(payload: Any) -> str:
    return payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def insert_events(conn: sqlite3.Connection, events: Iterable[Mapping[str, Any]]) -> int:
    """Insert rows in one transaction, ignoring event_ids already present; returns the rows inserted.

    A row's ``payload`` may be a JSON string or a dict (serialized here); ``id`` and ``created_at`` are
    the database's to assign.
    """
    rows = ((e["event_id"], e["shop_id"], e["event_type"], e["aggregate_id"], e["occurred_at"],
             payload_text(e["payload"])) for e in events)
    before = conn.total_changes
    with conn:
        conn.executemany(INSERT_SQL, rows)
    return conn.total_changes - before
