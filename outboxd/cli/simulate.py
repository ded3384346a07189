"""``outboxd simulate``: a shop's outbox events, as JSONL (a file or stdout) or straight into an outbox."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

__all__ = ["add_arguments", "run"]


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shop", default="demo-shop", help="shop_id of the events (default: demo-shop)")
    parser.add_argument("--days", type=int, default=1, help="business days to simulate (default: 1)")
    parser.add_argument("--orders-per-day", type=int, default=100, help="tickets per day, all registers (default: 100)")
    parser.add_argument("--registers", type=int, default=1, help="registers in the shop (default: 1)")
    parser.add_argument("--on-account", type=float, default=0.0, metavar="SHARE",
                        help="share of tickets with a known customer bought on account, paid later (default: 0)")
    parser.add_argument("--variety", action="store_true",
                        help="also discount ties, one-line discounts, gift cards sold and spent, chapters at two rates")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same events (default: 0)")
    parser.add_argument("--start", type=_date, default=dt.date(2026, 3, 2),
                        help="first business day (default: 2026-03-02)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--out", metavar="FILE.jsonl", help="write JSON lines there (default: stdout)")
    target.add_argument("--outbox", metavar="PATH", help="insert into this SQLite outbox (created if missing)")


def run(args: argparse.Namespace) -> int:
    from outboxd.shop_simulator import simulate_shop

    try:
        rows = simulate_shop(args.shop, days=args.days, orders_per_day=args.orders_per_day,
                             registers=args.registers, seed=args.seed, start=args.start,
                             on_account=args.on_account, variety=args.variety)
        if args.outbox:
            from outboxd.outbox import insert_events, open_outbox

            conn = open_outbox(args.outbox)
            try:
                inserted = insert_events(conn, rows)
            finally:
                conn.close()
            print(f"inserted {inserted} events into {args.outbox}", file=sys.stderr)
            return 0
        out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
        count = 0
        try:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
                count += 1
        finally:
            if args.out:
                out.close()
    except ValueError as exc:
        print(f"outboxd simulate: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {count} events to {args.out or 'stdout'}", file=sys.stderr)
    return 0
