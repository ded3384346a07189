"""``outboxd ctl``: the control API from a shell, readable tables for people and ``--json`` for scripts.

Only argparse is imported at module level (every command module is imported when ``outboxd`` starts);
the client, asyncio and the output code load when the command runs.
"""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "run"]


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shop", help="only this shop")
    parser.add_argument("--event-type", help="e.g. order.recorded")
    parser.add_argument(
        "--error-class", help="contract, booking, permanent, auth, retryable, unknown_outcome, internal"
    )
    parser.add_argument("--http-status", type=int, help="Pennylane's HTTP status, e.g. 422")
    parser.add_argument("--older-than", type=float, metavar="SECONDS", help="failed at least this long ago")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--socket", help="the daemon's control socket (default: $OUTBOXD_CONTROL_SOCKET or /run/outboxd/control.sock)"
    )
    parser.add_argument("--json", action="store_true", help="print the API's JSON answer, for scripts")
    sub = parser.add_subparsers(dest="ctl_command", required=True, metavar="ACTION")
    status = sub.add_parser("status", help="the daemon, the totals and a page of shops")
    status.add_argument("--search", default="", help="only the shops whose id or name contains this")
    status.add_argument("--limit", type=int, default=50, help="shops per page (1 to 1,000)")
    status.add_argument("--offset", type=int, default=0, help="shops to skip (the next page: --offset 50)")
    failed = sub.add_parser("failed", help="list failed deliveries")
    _filters(failed)
    failed.add_argument("--limit", type=int, default=50)
    failed.add_argument("--offset", type=int, default=0)
    sub.add_parser("show", help="one delivery: payload, entries, attempts").add_argument("id", type=int)
    sub.add_parser("retry", help="put one failed delivery back in the queue").add_argument("id", type=int)
    discard = sub.add_parser("discard", help="give up one failed delivery")
    discard.add_argument("id", type=int)
    discard.add_argument("--reason", required=True, help="why (kept in the audit log)")
    for name, help_text in (
        ("retry-all", "retry every failed delivery matching the filter"),
        ("discard-all", "discard every failed delivery matching the filter"),
    ):
        bulk = sub.add_parser(name, help=help_text)
        _filters(bulk)
        bulk.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        if name == "discard-all":
            bulk.add_argument("--reason", required=True, help="why (kept in the audit log)")
    pause = sub.add_parser("pause", help="stop delivering a shop's events")
    pause.add_argument("shop")
    pause.add_argument("--reason", required=True, help="why (shown on the dashboard and kept in the audit log)")
    sub.add_parser("resume", help="deliver a shop's events again").add_argument("shop")
    booking = sub.add_parser("booking", help="show or switch a shop's booking mode (one entry per event or per day)")
    booking.add_argument("shop")
    booking.add_argument("mode", nargs="?", choices=("detailed", "daily"), help="switch to this mode (else: show)")
    booking.add_argument("--from", dest="from_date", metavar="YYYY-MM-DD", help="first business date of the mode")
    booking.add_argument("--reason", help="why (kept in the audit log); required to switch")
    sub.add_parser("mapping", help="a shop's journals and accounts, and whether they exist").add_argument("shop")
    closings = sub.add_parser("closings", help="a shop's Z closings against the payments delivered (Z control)")
    closings.add_argument("shop")
    closings.add_argument("--since", metavar="YYYY-MM-DD", help="first business day (default: the last 7 days)")
    closings.add_argument("--mismatch", action="store_true", help="only the closings that do not match")
    reconcile = sub.add_parser("reconcile", help="after a state restore: record the entries Pennylane already has")
    reconcile.add_argument("shop", help="a paused, connected shop")
    reconcile.add_argument(
        "--since", metavar="YYYY-MM-DD", help="first entry date to read (default: the oldest open delivery's date)"
    )
    sub.add_parser("connect", help="connect a shop to Pennylane (OAuth)").add_argument("shop")
    token = sub.add_parser("token", help="use a company API token instead of OAuth")
    token.add_argument("shop")
    token.add_argument("file", help="the name of a 0600 file in the daemon's secrets.token_files_directory")
    disconnect = sub.add_parser("disconnect", help="revoke a shop's Pennylane access")
    disconnect.add_argument("shop")
    disconnect.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    backfill = sub.add_parser("backfill", help="estimate, start or steer sending a shop's history")
    backfill.add_argument("shop")
    backfill.add_argument(
        "--from",
        dest="start_date",
        metavar="YYYY-MM-DD",
        help="first day to send (default: start of the current Pennylane fiscal year)",
    )
    backfill.add_argument(
        "--mode",
        choices=("detailed", "daily"),
        default="detailed",
        help="one entry per ticket (detailed) or per register and day (daily)",
    )
    action = backfill.add_mutually_exclusive_group()
    action.add_argument("--start", action="store_true", help="start it after showing the estimate")
    action.add_argument("--pause", action="store_true")
    action.add_argument("--resume", action="store_true")
    action.add_argument("--cancel", action="store_true")
    audit = sub.add_parser("audit", help="who did what, newest first")
    audit.add_argument("--shop")
    audit.add_argument("--limit", type=int, default=50)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import os
    import sys

    from outboxd.cli import ctl_commands as shell
    from outboxd.control.text import printable
    from outboxd.exceptions import ControlError

    try:
        return asyncio.run(shell.dispatch(args))
    except ControlError as exc:
        print(f"outboxd ctl: {printable(exc, lines=True)}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, EOFError):
        print("\ncancelled", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `outboxd ctl show 11 | head`: the reader had enough, no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's own flush at exit must not fail
        return 141
