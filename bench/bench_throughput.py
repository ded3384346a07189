"""Deliveries per second across 200 shops with the rate limit off, and the daemon's CPU time per delivery.

The outbox holds every shop's events before the daemon starts (a backlog, so the daemon is never starved);
the rate is taken between 10 % and 90 % of the deliveries (the first delivery of a shop also creates its
journals and accounts; the tail is a few slow shops). CPU time is the daemon's utime + stime over that span.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import BIN, bridge, daemon, figure, fill, shop_template, simulator, state_counts


def run(*, shops: int = 200, per_shop: int = 100, profile: str | None = None) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="obx-bench-") as tmp, simulator(shops) as sim:
        laid = bridge(Path(tmp) / "bridge", sim)
        total = fill(laid.outbox, list(laid.shop_tokens), shop_template(per_shop))
        marks: list[tuple[float, int, float, float]] = []
        with daemon(laid) as proc:
            if profile:
                _attach(proc.pid, profile)
            deadline = time.monotonic() + max(120.0, total / 50)
            while time.monotonic() < deadline:
                counts = state_counts(laid.state)
                settled = sum(counts.get(s, 0) for s in ("delivered", "failed", "skipped"))
                marks.append((time.monotonic(), counts.get("delivered", 0), proc.cpu_seconds(), sim.cpu_seconds()))
                if settled >= total:
                    break
                time.sleep(0.25)
            failed = state_counts(laid.state).get("failed", 0)
            requests = sim.stats()["requests"]
    delivered = marks[-1][1]
    lo = next(m for m in marks if m[1] >= delivered * 0.1)
    hi = next(m for m in marks if m[1] >= delivered * 0.9)
    span, count = hi[0] - lo[0], hi[1] - lo[1]
    rate = count / span if span > 0 else 0.0
    cpu_ms = (hi[2] - lo[2]) / count * 1000 if count else 0.0
    sim_ms = (hi[3] - lo[3]) / count * 1000 if count else 0.0
    note = (
        f"{shops} shops, {total:,} events, {delivered:,} delivered, {failed} failed, "
        f"{requests / max(delivered, 1):.2f} requests per delivery, simulator {sim_ms:.2f} ms CPU per delivery"
    )
    return [
        figure("throughput, 200 shops, rate limit off", rate, "deliveries/s", ">= 1,000", rate >= 1000, note),
        figure("daemon CPU time per delivery", cpu_ms, "ms", "(none; lower is better)", None,
               f"{1000 / cpu_ms:,.0f} deliveries per CPU-second" if cpu_ms else ""),
    ]  # fmt: skip


def _attach(pid: int, output: str) -> None:
    """py-spy record on the daemon for 60 s (when py-spy is installed; a .txt output gets collapsed stacks)."""
    import subprocess

    spy = BIN / "py-spy"
    if not spy.exists():
        print("py-spy not installed: no profile", flush=True)
        return
    fmt = "raw" if output.endswith(".txt") else "speedscope"
    subprocess.Popen([spy, "record", "-p", str(pid), "-o", output, "-f", fmt, "-d", "60", "-r", "200"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=200)
    parser.add_argument("--per-shop", type=int, default=100, help="events per shop (default 100)")
    parser.add_argument("--profile", help="py-spy output file (speedscope) for the daemon")
    args = parser.parse_args()
    run(shops=args.shops, per_shop=args.per_shop, profile=args.profile)


if __name__ == "__main__":
    main()
