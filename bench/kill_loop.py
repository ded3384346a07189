"""kill -9 loop: ``outboxd run`` killed at random moments and restarted, while a producer keeps writing the outbox.

    .venv/bin/python bench/kill_loop.py --kills 20 --events 600
    .venv/bin/python bench/kill_loop.py --kills 200 --events 6000 --latency-ms 50 --seed 7
    .venv/bin/python bench/kill_loop.py --kills 50 --events 600 --limit 25/5 --token-life 8

The simulator runs in this process on loopback (with ``--latency-ms`` per request, so kills land with requests in
flight); two shops; one kill in five lands during start-up. ``--limit`` makes the simulator enforce Pennylane's rate
limit (the daemon is configured with the same) and counts its 429s; ``--token-life`` connects the shops through
OAuth with access tokens living that many seconds (rotated every few seconds). At the end one last daemon drains
the queue and the script prints events, kills, delivered, lost, duplicates, whether the trial balance is exact,
429s and rotations. Exit code 1 if anything was lost or duplicated, or a 429 came back. Files go to a temporary
directory (or --dir, kept).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent / "tests" / "e2e")]

from e2e_killloop import KillLoopResult, kill_loop  # noqa: E402 (the harness lives with the tests)

from outboxd.pennylane_simulator.ratelimit import parse_rate_limit  # noqa: E402

RESTARTS = {"kills": 50, "events": 600, "rate_limit": (25, 5.0), "token_life": 8}
"""The restart figure of docs/benchmarks.md: kill -9 and an immediate restart under Pennylane's limit, OAuth."""


def run(*, kills: int) -> list[dict[str, Any]]:
    """For bench/run.py: the restart kill loop's 429s and duplicates (goal 0 each)."""
    from harness import figure

    with tempfile.TemporaryDirectory(prefix="kill-loop-") as root:
        args = {**RESTARTS, "kills": kills}
        result = asyncio.run(kill_loop(Path(root) / "bridge", **args))  # type: ignore[arg-type]
    print("\n".join(result.lines()))
    what = f"{kills} restarts, 25/5 s, OAuth tokens of 8 s"
    return [
        figure(f"kill loop 429 ({what})", result.rate_limited, "x 429", "0", result.rate_limited == 0),
        figure(f"kill loop duplicates ({what})", result.duplicates, "entries", "0", result.duplicates == 0),
        figure(f"kill loop lost ({what})", result.lost, "events", "0", result.lost == 0),
    ]


def _ok(result: KillLoopResult) -> bool:
    return result.lost == 0 and result.duplicates == 0 and result.balance_exact and result.rate_limited == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--events", type=int, default=600, help="outbox rows in all (split over two shops)")
    parser.add_argument("--latency-ms", type=int, default=20, help="simulator latency per request")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=parse_rate_limit, help="REQUESTS/SECONDS enforced by the simulator")
    parser.add_argument("--token-life", type=int, help="OAuth shops, access tokens living SECONDS")
    parser.add_argument("--dir", type=Path, help="keep the files (config, databases, daemon.log) here")
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="kill-loop-"))
    result = asyncio.run(
        kill_loop(root / "bridge", kills=args.kills, events=args.events, seed=args.seed,
                  latency_ms=args.latency_ms, progress=True, rate_limit=args.limit, token_life=args.token_life)
    )  # fmt: skip
    print("\n".join(result.lines()))
    print(f"files       {root}")
    return 0 if _ok(result) else 1


if __name__ == "__main__":
    sys.exit(main())
