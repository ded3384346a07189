"""``outboxd import FILE.jsonl --shop S``: a shop's history older than the outbox, held for a backfill.

Every line is checked against the outbox contract first (and must belong to the shop; reference snapshots
come only from the outbox); rejected lines are listed with their line number and reason, and nothing is
written unless ``--skip-invalid``. The rows go straight into the state database, held (docs/backfill.md):
SQLite serialises this writer with the daemon's (busy_timeout), and the daemon never claims held rows, so
it meets them only when an operator starts a backfill. ``event_id`` is unique: a second run adds nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import IO, Any

__all__ = ["add_arguments", "run"]

BATCH = 1000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.jsonl", help="one outbox row (JSON object) per line; - for stdin")
    parser.add_argument("--shop", required=True, help="the shop the history belongs to (every line must say so)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--state-db", metavar="PATH", help="the daemon's state database")
    where.add_argument("--config", metavar="FILE", help="the daemon's configuration (its daemon.state_database)")
    parser.add_argument("--skip-invalid", action="store_true", help="import the valid lines even if some are rejected")


def _check(stream: IO[str], name: str, shop: str) -> tuple[list[dict[str, Any]], int]:
    from outboxd.contract import parse_event
    from outboxd.exceptions import ContractError

    valid: list[dict[str, Any]] = []
    rejected = 0
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ContractError("(row)", "is not a JSON object", "write one JSON object per line")
            event = parse_event(row)
            if event.shop_id != shop:
                raise ContractError("shop_id", f"is {event.shop_id!r}, not the shop {shop!r} being imported")
            if event.event_type == "reference.updated":
                raise ContractError("event_type", "reference snapshots come from the outbox only, never imported")
        except ValueError as exc:
            reason = f"not valid JSON: {exc}"
        except ContractError as exc:
            reason = str(exc)
        else:
            valid.append(row)
            continue
        rejected += 1
        print(f"{name}:{number}: rejected: {reason}", file=sys.stderr)
    return valid, rejected


def _state_path(args: argparse.Namespace) -> Path:
    if args.state_db:
        return Path(args.state_db)
    from outboxd.config import load_config

    return Path(load_config(args.config).daemon.state_database)


class _Progress:
    """A bar on a terminal, a plain counter line per batch otherwise."""

    def __init__(self, total: int) -> None:
        self.total = max(total, 1)
        self.tty = sys.stderr.isatty()

    def show(self, done: int, added: int) -> None:
        if self.tty:
            filled = 30 * done // self.total
            bar = "#" * filled + "-" * (30 - filled)
            print(f"\r[{bar}] {done}/{self.total} read, {added} new", end="", file=sys.stderr, flush=True)
        else:
            print(f"{done}/{self.total} read, {added} new", file=sys.stderr)

    def end(self) -> None:
        if self.tty:
            print(file=sys.stderr)


async def _write(path: Path, rows: list[dict[str, Any]]) -> int:
    from outboxd.store import ImportedEvent, open_store
    from outboxd.store.history import History

    added = 0
    progress = _Progress(len(rows))
    async with open_store(path, owner=f"import:{os.getpid()}", release_own_leases=False) as store:
        history = History(store.db, store.clock)
        for start in range(0, len(rows), BATCH):
            batch = [
                ImportedEvent(
                    str(r["event_id"]),
                    str(r["shop_id"]),
                    str(r["event_type"]),
                    str(r["aggregate_id"]),
                    str(r["occurred_at"]),
                    r["payload"] if isinstance(r["payload"], str) else json.dumps(r["payload"]),
                )
                for r in rows[start : start + BATCH]
            ]
            added += await history.import_events(batch)
            progress.show(min(start + BATCH, len(rows)), added)
    progress.end()
    return added


def run(args: argparse.Namespace) -> int:
    from outboxd.exceptions import OutboxdError

    try:
        if args.file == "-":
            valid, rejected = _check(sys.stdin, "<stdin>", args.shop)
        else:
            with open(args.file, encoding="utf-8") as stream:
                valid, rejected = _check(stream, args.file, args.shop)
        if rejected and not args.skip_invalid:
            print(f"{rejected} line(s) rejected, nothing imported (--skip-invalid imports the rest)", file=sys.stderr)
            return 1
        added = asyncio.run(_write(_state_path(args), valid))
    except (OSError, OutboxdError) as exc:
        print(f"outboxd import: {exc}", file=sys.stderr)
        return 1
    print(f"{added} event(s) imported for shop {args.shop}, {len(valid) - added} already known, {rejected} rejected;")
    print("held until a backfill includes them (outboxd tui, or POST /v1/shops/<shop>/backfill)")
    return 0
