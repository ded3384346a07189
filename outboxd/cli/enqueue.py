"""``outboxd enqueue``: validate a JSONL file of outbox rows, then insert it as Kash.Click would.

Every line is checked against the contract first; rejected lines are listed on stderr with their line
number and reason, and nothing is inserted unless ``--skip-invalid`` is given.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import IO, Any

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.jsonl", help="one outbox row (JSON object) per line; - for stdin")
    parser.add_argument("--outbox", required=True, metavar="PATH", help="the SQLite outbox (created if missing)")
    parser.add_argument("--skip-invalid", action="store_true", help="insert the valid lines even if some are rejected")


def _lines(stream: IO[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(stream, start=1):
        if line.strip():
            yield number, line


def _check(stream: IO[str], name: str) -> tuple[list[dict[str, Any]], int]:
    from outboxd.contract import parse_event
    from outboxd.exceptions import ContractError

    valid: list[dict[str, Any]] = []
    rejected = 0
    for number, line in _lines(stream):
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ContractError("(row)", "is not a JSON object", "write one JSON object per line")
            parse_event(row)
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


def run(args: argparse.Namespace) -> int:
    from outboxd.producer import insert_events, open_outbox

    try:
        if args.file == "-":
            valid, rejected = _check(sys.stdin, "<stdin>")
        else:
            with open(args.file, encoding="utf-8") as stream:
                valid, rejected = _check(stream, args.file)
    except OSError as exc:
        print(f"outboxd enqueue: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    if rejected and not args.skip_invalid:
        print(f"{rejected} line(s) rejected, nothing inserted (--skip-invalid inserts the others)", file=sys.stderr)
        return 1
    conn = open_outbox(args.outbox)
    try:
        inserted = insert_events(conn, valid)
    finally:
        conn.close()
    print(f"valid {len(valid)}, rejected {rejected}, inserted {inserted}, already present {len(valid) - inserted}")
    return 0
