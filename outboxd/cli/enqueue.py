"""``outboxd enqueue``: validate a JSONL file of outbox rows, then insert it as Kash.Click would.

Every line is checked against the contract first, with the bounds the daemon applies (payload size included);
each rejected line is listed on stderr with its line number and the field at fault, whatever it holds (invalid
UTF-8, JSON nested 100,000 deep, numbers of 5,000 digits): never a traceback. Nothing is inserted, and the exit
code is 1, unless every line passes or ``--skip-invalid`` is given.
"""

from __future__ import annotations

import argparse
import sqlite3
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
    from outboxd.cli.jsonl import checked_row
    from outboxd.exceptions import ContractError

    valid: list[dict[str, Any]] = []
    rejected = 0
    for number, line in _lines(stream):
        try:
            valid.append(checked_row(line)[0])
        except (ContractError, ValueError) as exc:
            rejected += 1
            print(f"{name}:{number}: rejected: {exc}", file=sys.stderr)
    return valid, rejected


def run(args: argparse.Namespace) -> int:
    from outboxd.cli.jsonl import open_lines, stdin_lines
    from outboxd.outbox import insert_events, open_outbox

    try:
        if args.file == "-":
            valid, rejected = _check(stdin_lines(), "<stdin>")
        else:
            with open_lines(args.file) as stream:
                valid, rejected = _check(stream, args.file)
    except OSError as exc:
        print(f"outboxd enqueue: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    if rejected and not args.skip_invalid:
        print(f"{rejected} line(s) rejected, nothing inserted (--skip-invalid inserts the others)", file=sys.stderr)
        return 1
    try:
        conn = open_outbox(args.outbox)
        try:
            inserted = insert_events(conn, valid)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        print(f"outboxd enqueue: cannot write the outbox {args.outbox}: {exc}", file=sys.stderr)
        return 2
    print(f"valid {len(valid)}, rejected {rejected}, inserted {inserted}, already present {len(valid) - inserted}")
    return 0
