"""kill -9 loop: ``outboxd run`` killed at random moments and restarted, while a producer keeps writing the outbox.

    .venv/bin/python bench/kill_loop.py --kills 20 --events 600
    .venv/bin/python bench/kill_loop.py --kills 200 --events 6000 --latency-ms 50 --seed 7

The simulator runs in this process on loopback (with ``--latency-ms`` per request, so kills land with requests in
flight); two shops; one kill in five lands during start-up. At the end one last daemon drains the queue and the
script prints events, kills, delivered, lost, duplicates and whether the trial balance is exact. Exit code 1 if
anything was lost or duplicated. Files go to a temporary directory (or --dir, kept).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent / "tests" / "e2e")]

from e2e_killloop import kill_loop  # noqa: E402 (the harness lives with the tests)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--events", type=int, default=600, help="outbox rows in all (split over two shops)")
    parser.add_argument("--latency-ms", type=int, default=20, help="simulator latency per request")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, help="keep the files (config, databases, daemon.log) here")
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="kill-loop-"))
    result = asyncio.run(
        kill_loop(root / "bridge", kills=args.kills, events=args.events, seed=args.seed,
                  latency_ms=args.latency_ms, progress=True)
    )  # fmt: skip
    print("\n".join(result.lines()))
    print(f"files       {root}")
    return 0 if result.lost == 0 and result.duplicates == 0 and result.balance_exact else 1


if __name__ == "__main__":
    sys.exit(main())
