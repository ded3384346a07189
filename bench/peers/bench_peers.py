"""outboxd against what a team would build instead, in one run: arq (asyncio + Redis) and procrastinate (asyncio +
PostgreSQL), each a worker process with a poller, on the same simulator and the same events:

1. deliveries per second, 200 shops, rate limit off, and CPU time per delivery (worker + its data server);
2. one shop at Pennylane's 25 requests / 5 s: share of the budget used, 429s received, requests per event;
3. 10 kill -9 of the worker under load while the simulator cuts 2 % of committed POSTs: events lost, entries
   posted twice (the simulator's entries tell);
4. INSERT -> 201 latency on an idle system, p50 / p99;

then the ratios outboxd / peer. Scenarios are in peer_scenarios.py, the contenders in peer_contenders.py.

    .venv/bin/python bench/peers/bench_peers.py [--quick] [--only outboxd arq procrastinate]

Needs the ``[bench]`` extra (arq, procrastinate), Redis and PostgreSQL on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import peer_scenarios  # noqa: E402 (bench/ and bench/peers are not packages)
from harness import figure  # noqa: E402

NAMES = ("outboxd", "arq", "procrastinate")
CONCURRENCY = 50
"""The peers' worker concurrency (arq ``max_jobs``, procrastinate ``concurrency``) in every scenario: the best of
10, 50 and 100 on the throughput scenario. outboxd runs its default, 4 deliveries in flight per shop."""
ROWS: list[tuple[str, str, str, bool]] = [
    # (scenario, figure key, label, higher is better)
    ("throughput", "rate", "deliveries/s, 200 shops, rate limit off", True),
    ("throughput", "cpu_ms", "CPU ms per delivery (worker + data server)", False),
    ("ratelimit", "share", "share of the 25 req / 5 s budget used, %", True),
    ("ratelimit", "throttled", "429s received", False),
    ("ratelimit", "per_event", "requests per event (429s included)", False),
    ("kill", "lost", "events lost, 10 x kill -9", False),
    ("kill", "twice", "entries posted twice, 10 x kill -9", False),
    ("latency", "p50", "INSERT -> 201 p50, ms", False),
    ("latency", "p99", "INSERT -> 201 p99, ms", False),
]


def scenarios(quick: bool, jobs: int = CONCURRENCY) -> dict[str, Callable[[str, Path], dict[str, float]]]:
    """Sized so that each contender's run of a scenario stays under a minute."""
    s = peer_scenarios
    return {
        "throughput": lambda name, tmp: s.throughput(name, tmp, 200, 50 if quick else 100, jobs),
        "ratelimit": lambda name, tmp: s.ratelimit(name, tmp, 15.0 if quick else 40.0, jobs),
        "kill": lambda name, tmp: s.kill_loop(name, tmp, 300 if quick else 600, 10, jobs),
        "latency": lambda name, tmp: s.latency(name, tmp, 50 if quick else 100, jobs),
    }


def run(
    *,
    names: tuple[str, ...] = NAMES,
    quick: bool = False,
    only: tuple[str, ...] = (),
    keep: Path | None = None,
    jobs: int = CONCURRENCY,
) -> list[dict[str, Any]]:
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="obx-peers-") as tmp:
        for scenario, measure in scenarios(quick, jobs).items():
            if only and scenario not in only:
                continue
            for name in names:
                started = time.monotonic()
                try:
                    got = measure(name, keep or Path(tmp))
                except Exception as exc:  # one contender's failure must not hide the others' figures
                    print(f"peers {scenario} {name}: ERROR {type(exc).__name__}: {exc}", flush=True)
                    continue
                results.setdefault(scenario, {})[name] = got
                shown = ", ".join(f"{k} {_shown(v)}" for k, v in got.items())
                print(f"peers {scenario} {name}: {shown} ({time.monotonic() - started:.0f} s)", flush=True)
    _table(results, names)
    return _figures(results, names)


def _table(results: dict[str, dict[str, dict[str, float]]], names: tuple[str, ...]) -> None:
    peers = [n for n in names if n != "outboxd"]
    head = f"{'figure':46} " + " ".join(f"{n:>13}" for n in names)
    head += "".join(f" {'outboxd/' + p:>21}" for p in peers if "outboxd" in names)
    print("\n" + head)
    for scenario, key, label, _ in ROWS:
        values = {n: results.get(scenario, {}).get(n, {}).get(key) for n in names}
        line = f"{label:46} " + " ".join(f"{_shown(values[n]):>13}" for n in names)
        if "outboxd" in names:
            line += "".join(f" {_ratio(values['outboxd'], values[p]):>21}" for p in peers)
        print(line, flush=True)


def _shown(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def _ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None:
        return "-"
    if theirs == 0:
        return "equal (0)" if ours == 0 else "inf"
    return f"{ours / theirs:.2f}"


def _figures(results: dict[str, dict[str, dict[str, float]]], names: tuple[str, ...]) -> list[dict[str, Any]]:
    """The issue's goals: throughput ratio >= 1 against each peer; no 429 and no duplicate where a peer shows one."""
    ours = {scenario: got.get("outboxd") for scenario, got in results.items()}
    found = []
    for peer in (n for n in names if n != "outboxd"):
        theirs = {scenario: got.get(peer) for scenario, got in results.items()}
        if ours.get("throughput") and theirs.get("throughput"):
            ratio = ours["throughput"]["rate"] / max(theirs["throughput"]["rate"], 1e-9)
            found.append(figure(f"peers: throughput, outboxd / {peer}", ratio, "x", ">= 1", ratio >= 1))
    if ours.get("ratelimit"):
        throttled = ours["ratelimit"]["throttled"]
        found.append(figure("peers: outboxd 429s at 25 req / 5 s", throttled, "", "0", throttled == 0))
    if ours.get("kill"):
        twice = ours["kill"]["twice"] + ours["kill"]["lost"]
        found.append(figure("peers: outboxd entries lost or posted twice, 10 x kill -9", twice, "", "0", twice == 0))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller backlogs and shorter windows")
    parser.add_argument("--only", nargs="+", choices=NAMES, default=list(NAMES), help="these contenders only")
    parser.add_argument("--scenarios", nargs="+", choices=list(scenarios(False)), default=[], help="these only")
    parser.add_argument("--dir", type=Path, help="keep the files (outboxes, workers' logs) here")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="the peers' jobs at once (tuning)")
    args = parser.parse_args()
    run(names=tuple(args.only), quick=args.quick, only=tuple(args.scenarios), keep=args.dir, jobs=args.concurrency)


if __name__ == "__main__":
    main()
