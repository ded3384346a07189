"""What both peers' worker processes share: the command line, the shops' tokens, and reading the outbox.

A peer is one process, as outboxd is: the library's worker plus a poller task that reads new outbox rows (the
contract's SQLite file, in ``id`` order) and hands them to the queue. Tokens come from a JSON file (shop ->
token, mode 0600), never from the command line.
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
from peer_http import Pennylane
from peer_job import Shop

POLL = 0.05
"""Seconds between two reads of an idle outbox: the daemon's poll interval in the benchmarks."""
BATCH = 500
"""Outbox rows read per poll at most."""
COLUMNS = "id, event_id, shop_id, event_type, aggregate_id, occurred_at, payload"


def arguments(description: str) -> argparse.Namespace:
    """The command line; the library logs to ``--log`` at INFO, the default of both libraries' commands."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--outbox", type=Path, required=True, help="the contract's SQLite outbox")
    parser.add_argument("--api-url", required=True, help="Pennylane's API (the simulator's)")
    parser.add_argument("--tokens", type=Path, required=True, help="JSON file: shop id -> API token")
    parser.add_argument("--concurrency", type=int, default=50, help="jobs run at once by the worker")
    parser.add_argument("--log", type=Path, required=True, help="the library's log")
    args = parser.parse_args()
    logging.basicConfig(filename=args.log, level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return args


def shops(session: aiohttp.ClientSession, args: argparse.Namespace) -> dict[str, Shop]:
    tokens: dict[str, str] = json.loads(args.tokens.read_text())
    return {shop: Shop(Pennylane(session, args.api_url, token)) for shop, token in tokens.items()}


@contextmanager
def outbox(path: Path) -> Iterator[sqlite3.Connection]:
    """Read-only, as the bridge reads it: the producer's writes never wait for us."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    conn.row_factory = sqlite3.Row
    try:
        yield conn
    finally:
        conn.close()


def rows_after(conn: sqlite3.Connection, cursor: int) -> list[dict[str, Any]]:
    found = conn.execute(f"SELECT {COLUMNS} FROM outbox WHERE id > ? ORDER BY id LIMIT ?", (cursor, BATCH))  # noqa: S608
    return [dict(row) for row in found]


def row(conn: sqlite3.Connection, outbox_id: int) -> dict[str, Any]:
    found = conn.execute(f"SELECT {COLUMNS} FROM outbox WHERE id = ?", (outbox_id,)).fetchone()  # noqa: S608
    return dict(found)


def ready() -> None:
    """Tells the benchmark the worker is up (it waits for this line)."""
    print("peer ready", flush=True)
