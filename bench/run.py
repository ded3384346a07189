"""Every benchmark, one after the other, against the simulator on loopback; prints each figure as
``name: value unit (goal ...: MET/NOT MET)`` and a summary at the end. Nothing is asserted.

    python3 dev.py bench            # the full run (about an hour on 2 cores: a year's backfill at the real limit,
                                    # 10,000 shops, 50 restarts, the peers)
    python3 dev.py bench --quick    # smaller backlogs and shorter windows (about 3 minutes); says so
    python3 dev.py bench --only throughput latency

Each benchmark is its own module here (bench_<name>.py, runnable alone). docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
Figures = list[dict[str, Any]]


def _rules(quick: bool) -> Figures:
    import bench_rules

    return bench_rules.run(orders=20_000 if quick else 50_000)


def _store(quick: bool) -> Figures:
    import bench_store

    return bench_store.run(rows=100_000 if quick else 1_000_000, seconds=5.0 if quick else 10.0)


def _throughput(quick: bool) -> Figures:
    import bench_throughput

    return bench_throughput.run(shops=200, per_shop=50 if quick else 100)


def _ratelimit(quick: bool) -> Figures:
    import bench_ratelimit

    return bench_ratelimit.run(seconds=20.0 if quick else 60.0)


def _latency(quick: bool) -> Figures:
    import bench_latency

    return bench_latency.run(samples=100 if quick else 300)


def _memory(quick: bool) -> Figures:
    import bench_memory

    return bench_memory.run(events=100_000 if quick else 1_000_000, seconds=20.0 if quick else 60.0)


def _ingest(quick: bool) -> Figures:
    import bench_ingest

    return bench_ingest.run(rows=50 if quick else 200)


def _retention(quick: bool) -> Figures:
    import bench_retention

    return bench_retention.run(shops=10 if quick else 20, per_shop=200)


def _replicas(quick: bool) -> Figures:
    import bench_replicas

    return bench_replicas.run(shops=50, per_shop=40 if quick else 100)


def _backfill(quick: bool) -> Figures:
    import bench_backfill

    return bench_backfill.run(days=60 if quick else 365, scale=1.0)  # at the real limit: a scaled one is CPU-bound


def _shops(quick: bool) -> Figures:
    import bench_shops

    return bench_shops.run(shops=2_000, active=100, seconds=20.0, quiet=10.0) if quick else bench_shops.run()


def _reliability(quick: bool) -> Figures:
    """bench/kill_loop.py belongs to the reliability work (tests/e2e); run it when it exists."""
    script = HERE / "kill_loop.py"
    if not script.exists():
        print("reliability: bench/kill_loop.py is not there yet; no kill -9 / fault matrix figures", flush=True)
        return []
    usage = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, check=False)
    args = ["--kills", "3" if quick else "10"] if "--kills" in usage.stdout else []
    args += ["--quick"] if quick and "--quick" in usage.stdout else []
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, check=False)
    print(done.stdout, end="", flush=True)
    if done.returncode:
        print(f"reliability: kill_loop.py exited {done.returncode}: {done.stderr[-500:]}", flush=True)
    return []


def _restarts(quick: bool) -> Figures:
    import kill_loop

    return kill_loop.run(kills=10 if quick else 50)


def _peers(quick: bool) -> Figures:
    """outboxd beside arq and procrastinate baselines (bench/peers; needs the [bench] extra, Redis, PostgreSQL)."""
    sys.path.insert(0, str(HERE / "peers"))
    import bench_peers

    return bench_peers.run(quick=quick)


BENCHMARKS: dict[str, Callable[[bool], Figures]] = {
    "rules": _rules,
    "store": _store,
    "throughput": _throughput,
    "ratelimit": _ratelimit,
    "latency": _latency,
    "backfill": _backfill,
    "memory": _memory,
    "replicas": _replicas,
    "ingest": _ingest,
    "retention": _retention,
    "shops": _shops,
    "reliability": _reliability,
    "restarts": _restarts,
    "peers": _peers,
}


def machine() -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor() or "unknown",
    )  # fmt: skip
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, Linux {platform.release()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller backlogs, shorter windows")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run only these")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"command: python3 dev.py bench{' --quick' if args.quick else ''}"
          f"{' --only ' + ' '.join(args.only) if args.only else ''}", flush=True)  # fmt: skip
    if args.quick:
        print("--quick: 100,000-row backlogs instead of 1,000,000, 20 s windows instead of 60 s", flush=True)
    figures: Figures = []
    for name in args.only or BENCHMARKS:
        print(f"\n== {name}", flush=True)
        started = time.monotonic()
        try:
            figures += BENCHMARKS[name](args.quick)
        except Exception:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            print(f"{name}: ERROR (see above)", flush=True)
        print(f"({name}: {time.monotonic() - started:.0f} s)", flush=True)
    print("\n== summary")
    for one in figures:
        value = f"{one['value']:,.0f}" if abs(one["value"]) >= 100 else f"{one['value']:,.4g}"
        print(f"{one['name']}: {value} {one['unit']} (goal {one['goal']}: {one['status']})")


if __name__ == "__main__":
    main()
