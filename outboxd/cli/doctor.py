"""``outboxd doctor``: check an installation and say what to fix; exit 1 when something is wrong."""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "run"]

DEFAULT_CONFIG = "/etc/outboxd/outboxd.toml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", metavar="FILE", default=DEFAULT_CONFIG, help=f"default {DEFAULT_CONFIG}")
    parser.add_argument(
        "--credentials",
        metavar="DIR",
        help="where credential names (a *_file without /) are found, as systemd's LoadCredential= puts them "
        "(default: $CREDENTIALS_DIRECTORY, else the credentials/ directory beside the configuration if it exists)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document, for scripts")
    parser.add_argument("--offline", action="store_true", help="do not contact Pennylane (no /me, no clock check)")


def run(args: argparse.Namespace) -> int:
    import asyncio
    import os
    from pathlib import Path

    from outboxd.doctor import exit_code, render_json, render_text, run_doctor

    credentials = args.credentials or os.environ.get("CREDENTIALS_DIRECTORY")
    beside = Path(args.config).absolute().parent / "credentials"
    if credentials is None and beside.is_dir():
        credentials = str(beside)
    previous = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials:
        # read the configuration exactly as the service does under systemd (outboxd.config resolves bare names)
        os.environ["CREDENTIALS_DIRECTORY"] = str(Path(credentials).absolute())
    try:
        results = asyncio.run(run_doctor(args.config, offline=args.offline))
    finally:  # a caller running main in-process (a test) keeps its environment
        if previous is None:
            os.environ.pop("CREDENTIALS_DIRECTORY", None)
        else:
            os.environ["CREDENTIALS_DIRECTORY"] = previous
    print(render_json(results) if args.json else render_text(results))
    return exit_code(results)
