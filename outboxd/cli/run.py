"""``outboxd run``: the delivery daemon, in the foreground (systemd's Type=notify service runs this)."""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", "-c", metavar="FILE", help="the TOML configuration (see config/outboxd.example.toml)"
    )
    parser.add_argument(
        "--state-dir", metavar="DIR", help="without --config: a demo configuration with every file here"
    )


def run(args: argparse.Namespace) -> int:
    import asyncio
    import sys

    from outboxd.config import load_config
    from outboxd.daemon import Daemon, run_until_stopped
    from outboxd.daemon.operations import DaemonControl
    from outboxd.exceptions import ConfigError, StoreError
    from outboxd.log import configure_logging

    try:
        config = load_config(args.config, state_dir=args.state_dir)
    except ConfigError as exc:
        print(f"outboxd: invalid configuration: {exc}", file=sys.stderr)
        return 2
    redactor = configure_logging(config.daemon.log_level, config.daemon.log_format)
    daemon = Daemon(config, control_factory=DaemonControl, redactor=redactor)
    try:
        asyncio.run(run_until_stopped(daemon))
    except (ConfigError, StoreError) as exc:  # a secret file, a state database in use or lost: say it in one line
        print(f"outboxd: {exc}", file=sys.stderr)
        return 2
    return 0
