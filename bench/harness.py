"""What the end-to-end benchmarks share: the simulator and the daemon as real processes, events, /proc readings.

The simulator runs as ``outboxd sandbox`` and the daemon as ``outboxd run --config`` (the installed entry points
next to this Python), each in its own process, so the daemon's CPU time and RSS are its own. Events come from
``outboxd.shop_simulator`` (one shop's days of tickets, payments and closings), copied per shop under new event ids.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bridge_setup import Bridge

from outboxd.outbox import INSERT_SQL, open_outbox
from outboxd.shop_simulator import simulate_shop

BIN = Path(sys.executable).parent
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass
class Simulator:
    process: subprocess.Popen[str]
    base_url: str
    api_url: str
    tokens: list[tuple[int, str]]

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base_url + path, timeout=30) as response:  # noqa: S310 (loopback)
            return json.loads(response.read())

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.get("/_sandbox/stats")
        return result


@contextmanager
def simulator(companies: int, *, rate_limit: str | None = None) -> Iterator[Simulator]:
    """``outboxd sandbox`` on a free port; ``rate_limit`` like "25/5", None switches the limit off."""
    limit = ["--rate-limit", rate_limit] if rate_limit else ["--no-rate-limit"]
    cmd = [str(BIN / "outboxd"), "sandbox", "--port", "0", "--companies", str(companies), *limit]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    base = api = ""
    tokens = []
    for raw in process.stdout:
        line = raw.strip()
        if line.startswith("Pennylane sandbox on "):
            base = line.rsplit(" ", 1)[1]
        elif line.startswith("api "):
            api = line.split()[1]
        elif line.startswith("company "):
            tokens.append((int(line.split()[1]), line.rsplit(" ", 1)[1]))
        elif line.startswith("Ctrl-C"):
            break
    try:
        yield Simulator(process, base, api, tokens)
    finally:
        process.terminate()
        process.wait(10)


def bridge(root: Path, sim: Simulator, *, rate_limit: tuple[int, float] = (100_000, 1.0)) -> Bridge:
    """One shop per simulator company (shop-000, shop-001...), at the daemon's default poll and log level."""
    tokens = {f"shop-{n:03d}": token for n, (_, token) in enumerate(sim.tokens)}
    laid = Bridge(root, sim.api_url, tokens, rate_limit=rate_limit).write()
    text = laid.config_path.read_text().replace("poll_interval = 0.02", "poll_interval = 0.05")
    laid.config_path.write_text(text)
    return laid


@dataclass
class DaemonProcess:
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def rss_mb(self) -> float:
        return int(Path(f"/proc/{self.pid}/statm").read_text().split()[1]) * PAGE / 1e6


@contextmanager
def daemon(laid: Bridge, *, ready_within: float = 120.0) -> Iterator[DaemonProcess]:
    """``outboxd run --config`` until ``daemon.ready`` is logged; SIGTERM on exit."""
    log = laid.root / "daemon.log"
    with log.open("wb") as out:
        cmd = [str(BIN / "outboxd"), "run", "--config", str(laid.config_path)]
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    running = DaemonProcess(process, log)
    try:
        deadline = time.monotonic() + ready_within
        while b"daemon.ready" not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the daemon did not start: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def shop_template(events: int, *, seed: int = 1) -> list[tuple[str, str, str, str]]:
    """(event_type, aggregate_id, occurred_at, payload JSON) of one shop: its reference, then days of business."""
    days = max(1, events // 200 + 1)
    start = dt.date(dt.date.today().year, 1, 5)
    rows = []
    for row in simulate_shop("template", days=days, orders_per_day=90, registers=2, seed=seed, start=start):
        payload = json.dumps(row["payload"], ensure_ascii=False, separators=(",", ":"))
        rows.append((row["event_type"], row["aggregate_id"], row["occurred_at"], payload))
        if len(rows) == events:
            break
    return rows


def fill(outbox: Path, shops: list[str], template: list[tuple[str, str, str, str]], *, tag: str = "e") -> int:
    """Every shop's copy of the template, interleaved shop by shop as live traffic would be, in one transaction."""
    conn = open_outbox(outbox)
    with conn:
        conn.executemany(
            INSERT_SQL,
            ((f"{tag}-{shop}-{i}", shop, kind, aggregate, occurred, payload)
             for i, (kind, aggregate, occurred, payload) in enumerate(template) for shop in shops),
        )  # fmt: skip
    conn.close()
    return len(shops) * len(template)


def state_counts(state: Path) -> dict[str, int]:
    """Deliveries per state across shops (the trigger-kept counters: a few row reads, whatever the backlog)."""
    conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute("SELECT state, sum(n) FROM queue_counts GROUP BY state").fetchall()
    except sqlite3.OperationalError:
        rows = []
    finally:
        conn.close()
    return {state: int(n) for state, n in rows}


def count_rows(state: Path, table: str) -> int:
    conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 (a table name of ours)
    finally:
        conn.close()


def wait_for(predicate: Any, within: float, every: float = 0.1) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def figure(name: str, value: float, unit: str, goal: str, met: bool | None, note: str = "") -> dict[str, Any]:
    """Print one figure as ``name: value unit (goal ...: MET/NOT MET)`` and return it for the summary."""
    status = "n/a" if met is None else ("MET" if met else "NOT MET")
    shown = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.4g}"
    print(f"{name}: {shown} {unit} (goal {goal}: {status}){'  ' + note if note else ''}", flush=True)
    return {"name": name, "value": value, "unit": unit, "goal": goal, "status": status, "note": note}
