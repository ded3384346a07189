"""``outboxd import FILE.jsonl --shop S``: a shop's history older than the outbox, held for a backfill.

Every line is checked against the outbox contract first (and must belong to the shop; reference snapshots
come only from the outbox); rejected lines are listed with their line number and reason, and nothing is
written unless ``--skip-invalid``. A second pass reads the accepted lines again and writes them in batches,
so memory does not grow with the file (standard input is spooled to a temporary file). The rows go straight
into the state database, held (docs/backfill.md): SQLite serialises this writer with the daemon's
(busy_timeout), and the daemon never claims held rows, so it meets them only when an operator starts a
backfill. ``event_id`` is unique: a second run adds nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
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


def _check(stream: IO[str], name: str, shop: str) -> tuple[int, set[int]]:
    """First pass: every line against the contract. Returns how many are valid and the numbers of the others."""
    from outboxd.cli.jsonl import checked_row
    from outboxd.exceptions import ContractError

    valid = 0
    rejected: set[int] = set()
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            _, event = checked_row(line)
            if event.shop_id != shop:
                raise ContractError("shop_id", f"is {event.shop_id!r}, not the shop {shop!r} being imported")
            if event.event_type == "reference.updated":
                raise ContractError("event_type", "reference snapshots come from the outbox only, never imported")
        except ValueError as exc:  # a line that cannot be read at all: the message says why
            reason = str(exc)
        except ContractError as exc:
            reason = str(exc)
        else:
            valid += 1
            continue
        rejected.add(number)
        print(f"{name}:{number}: rejected: {reason}", file=sys.stderr)
    return valid, rejected


def _valid_rows(stream: IO[str], rejected: set[int]) -> Iterator[dict[str, Any]]:
    """Second pass: the lines the first one accepted (memory stays one batch, whatever the file's size)."""
    for number, line in enumerate(stream, start=1):
        if line.strip() and number not in rejected:
            row: dict[str, Any] = json.loads(line)
            yield row


@contextlib.contextmanager
def _opened(file: str) -> Iterator[IO[str]]:
    """The file, or standard input spooled to a temporary file: both passes read the same lines."""
    from outboxd.cli.jsonl import open_lines, stdin_lines

    if file != "-":
        with open_lines(file) as stream:
            yield stream
        return
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="surrogateescape") as spool:
        shutil.copyfileobj(stdin_lines(), spool)
        spool.seek(0)
        yield spool


def _state_path(args: argparse.Namespace) -> Path:
    from outboxd.exceptions import ConfigError

    if args.state_db:
        location: str | Path = args.state_db
    else:
        from outboxd.config import load_config

        location = load_config(args.config).daemon.state_location
    if str(location).startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            "daemon.state_database_url", "is PostgreSQL: outboxd import writes to a SQLite state database only"
        )
    return Path(location)


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


async def _write(path: Path, rows: Iterator[dict[str, Any]], total: int) -> int:
    from outboxd.store import ImportedEvent, open_store

    added = done = 0
    progress = _Progress(total)
    async with open_store(path, owner=f"import:{os.getpid()}", release_own_leases=False) as store:
        while batch := [
            ImportedEvent(
                str(r["event_id"]),
                str(r["shop_id"]),
                str(r["event_type"]),
                str(r["aggregate_id"]),
                str(r["occurred_at"]),
                r["payload"] if isinstance(r["payload"], str) else json.dumps(r["payload"]),
            )
            for r in itertools.islice(rows, BATCH)
        ]:
            added += await store.deliveries.ingest_rows(batch, held=True)
            done += len(batch)
            progress.show(done, added)
    progress.end()
    return added


def run(args: argparse.Namespace) -> int:
    from outboxd.exceptions import OutboxdError

    name = "<stdin>" if args.file == "-" else args.file
    try:
        state = _state_path(args)
        with _opened(args.file) as stream:
            valid, rejected = _check(stream, name, args.shop)
            if rejected and not args.skip_invalid:
                print(
                    f"{len(rejected)} line(s) rejected, nothing imported (--skip-invalid imports the rest)",
                    file=sys.stderr,
                )
                return 1
            stream.seek(0)
            added = asyncio.run(_write(state, _valid_rows(stream, rejected), valid))
    except (OSError, OutboxdError) as exc:
        print(f"outboxd import: {exc}", file=sys.stderr)
        return 1
    print(f"{added} event(s) imported for shop {args.shop}, {valid - added} already known, {len(rejected)} rejected;")
    print("held until a backfill includes them (outboxd tui, or POST /v1/shops/<shop>/backfill)")
    return 0
