"""The ``outboxd`` command: one subcommand per module of this package, imported only when it runs.

Each subcommand module defines ``add_arguments(parser)`` and ``run(args) -> int`` and keeps its top-level
imports light, so that ``outboxd --help`` and ``outboxd tui`` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

__all__ = ["main"]

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("outboxd.cli.run", "run the delivery daemon (what systemd starts)"),
    "tui": ("outboxd.cli.tui", "open the operator dashboard (a client of the running daemon)"),
    "demo": ("outboxd.cli.demo", "simulator + daemon + dashboard on a simulated shop, cleaned up on exit"),
    "sandbox": ("outboxd.cli.sandbox", "run the Pennylane simulator on loopback"),
    "simulate": ("outboxd.cli.simulate", "generate a shop's realistic outbox events"),
    "enqueue": ("outboxd.cli.enqueue", "insert events from a JSONL file into an outbox, as Kash.Click does"),
    "import": ("outboxd.cli.import_", "import history older than the outbox from a JSONL file"),
    "ctl": ("outboxd.cli.ctl", "talk to the running daemon: status, failed deliveries, retry, discard..."),
    "doctor": ("outboxd.cli.doctor", "check configuration, database, secrets and connections"),
}


def _available() -> dict[str, tuple[str, str]]:
    return {name: spec for name, spec in COMMANDS.items() if importlib.util.find_spec(spec[0]) is not None}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="outboxd", description="Kash.Click -> Pennylane bridge.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {}
    for name, (module_name, help_text) in _available().items():
        module = importlib.import_module(module_name)
        modules[name] = module
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    code: int = modules[args.command].run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
