"""``outboxd tui``: open the operator dashboard on the daemon's control socket.

The ``outboxd`` package never imports textual or ``tui`` statically (import-linter checks it); this
launcher's dynamic import is the one seam between them.
"""

from __future__ import annotations

import argparse
import importlib

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--socket", help="the daemon's control socket (default: $OUTBOXD_CONTROL_SOCKET or /run/outboxd/control.sock)"
    )


def run(args: argparse.Namespace) -> int:
    import sys

    from outboxd.control.client import ControlClient

    dashboard = importlib.import_module("tui.app")
    if problem := dashboard.use_terminal():
        print(f"outboxd tui: {problem}", file=sys.stderr)
        return 2
    app = dashboard.OutboxdApp(ControlClient(args.socket))
    app.run()
    return int(app.return_code or 0)
