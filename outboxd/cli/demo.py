"""``outboxd demo``: simulator + daemon + dashboard on a simulated shop; ``--no-tui`` runs it headless."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_arguments", "run"]


def _seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text}: a positive number of seconds")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="put the demo's files here (a new or empty directory; default: a temporary one)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the state directory on exit")
    parser.add_argument(
        "--no-tui", dest="tui", action="store_false", help="no dashboard: print where everything is and wait for Ctrl-C"
    )
    parser.add_argument(
        "--for",
        dest="duration",
        type=_seconds,
        metavar="SECONDS",
        help="stop by itself after this long (with --no-tui)",
    )
    parser.add_argument("--ticket-every", type=_seconds, default=5.0, metavar="SECONDS",
                        help="a new live ticket this often (default: 5)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import asyncio
    import sys

    from outboxd.demo import DemoOptions, run_demo
    from outboxd.exceptions import OutboxdError

    options = DemoOptions(args.state_dir, args.keep, args.tui, args.duration, args.ticket_every)
    try:
        return asyncio.run(run_demo(options, say=lambda text: print(text, flush=True)))
    except OutboxdError as exc:
        print(f"outboxd demo: {exc}", file=sys.stderr)
        return 1
