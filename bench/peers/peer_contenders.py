"""The three contenders as the benchmark drives them: laid out fresh, started, killed -9, counted.

Each has its own outbox (the contract's SQLite file, filled with the same events) and talks to the simulator it
is given. ``delivered()`` is each one's own count of events done: outboxd's state database, arq's counter in
Redis, procrastinate's succeeded jobs. ``cpu()`` is the CPU time of every process that does the work: the worker
(poller included) plus, for arq, the Redis server and, for procrastinate, the PostgreSQL backends serving its
database (the server's background writers are shared with other databases and not counted). outboxd keeps its
state in SQLite, inside its own process. The simulator's CPU is not counted for anyone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis
from harness import BIN, Simulator, bridge, cpu_seconds, state_counts

from outboxd.outbox import ensure_outbox

HERE = Path(__file__).resolve().parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "bench_procrastinate"
REDIS_DB = 9  # peer_arq.REDIS: a database of the benchmark's own


def _processes(name: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "comm").read_text().strip() == name:
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


@dataclass
class Contender:
    """One contender's files and worker process; ``name`` is outboxd, arq or procrastinate."""

    name: str
    root: Path
    sim: Simulator
    rate_limit: tuple[int, float] | None = None
    concurrency: int = 50
    process: subprocess.Popen[bytes] | None = None
    outbox: Path = field(init=False)
    _cpu_done: float = 0.0
    """CPU seconds of the worker processes already killed or stopped."""

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.log = self.root / "worker.log"
        if self.name == "outboxd":
            laid = bridge(self.root, self.sim, **({"rate_limit": self.rate_limit} if self.rate_limit else {}))
            self.outbox, self.state, self.config = laid.outbox, laid.state, laid.config_path
            with self.config.open("a") as config:  # the peers do not letter: the same work for the three
                config.write("\n[mapping]\nlettering = false\n")
            return
        self.outbox = self.root / "outbox.sqlite3"
        ensure_outbox(self.outbox)
        self.tokens = self.root / "tokens.json"
        self.tokens.write_text(json.dumps(dict(zip(self.shops, (token for _, token in self.sim.tokens), strict=True))))
        os.chmod(self.tokens, 0o600)
        if self.name == "arq":
            redis.Redis(db=REDIS_DB).flushdb()
        else:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {PG_DATABASE}")

    @property
    def shops(self) -> list[str]:
        """harness.bridge's names: shop-000, shop-001... one per simulator company."""
        return [f"shop-{n:03d}" for n in range(len(self.sim.tokens))]

    def start(self, within: float = 60.0) -> None:
        with self.log.open("ab") as out:
            if self.name == "outboxd":
                cmd = [str(BIN / "outboxd"), "run", "--config", str(self.config)]
                self.process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
                said, ready = self.log, b"daemon.ready"
            else:
                cmd = [sys.executable, str(HERE / f"peer_{self.name}.py"), "--outbox", str(self.outbox),
                       "--api-url", self.sim.api_url, "--tokens", str(self.tokens), "--log", str(self.log),
                       "--concurrency", str(self.concurrency)]  # fmt: skip
                said = self.root / "stdout"
                with said.open("wb") as stdout:
                    self.process = subprocess.Popen(cmd, stdout=stdout, stderr=out)
                ready = b"peer ready"
        deadline = time.monotonic() + within
        while ready not in said.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.02)

    def kill9(self) -> None:
        self._end(kill=True)

    def stop(self) -> None:
        self._end(kill=False)

    def _end(self, *, kill: bool) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self._cpu_done += cpu_seconds(self.process.pid)
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def delivered(self) -> int:
        if self.name == "outboxd":
            return state_counts(self.state).get("delivered", 0)
        if self.name == "arq":
            return int(redis.Redis(db=REDIS_DB).get("peer:delivered") or 0)
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{PG_DATABASE}") as conn:
            found = conn.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'").fetchone()
        return int(found[0]) if found else 0

    def cpu(self) -> Usage:
        """CPU seconds so far: the worker (killed ones included) and each data server process's."""
        worker = self._cpu_done
        if self.process is not None and self.process.poll() is None:
            worker += cpu_seconds(self.process.pid)
        return Usage(worker, self._server_cpu())

    def _server_cpu(self) -> dict[int, float]:
        if self.name == "outboxd":
            return {}
        if self.name == "arq":
            pids = _processes("redis-server")
        else:
            with psycopg.connect(PG_ADMIN) as conn:
                found = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (PG_DATABASE,))
                pids = [int(pid) for (pid,) in found.fetchall()]
        seconds = {}
        for pid in pids:
            try:
                seconds[pid] = cpu_seconds(pid)
            except OSError:  # the process ended meanwhile
                continue
        return seconds


@dataclass(frozen=True)
class Usage:
    worker: float
    server: dict[int, float]

    def since(self, before: Usage) -> tuple[float, float]:
        """Worker and server CPU seconds spent between ``before`` and this reading (a server process that
        appeared meanwhile counts from its start)."""
        server = sum(now - before.server.get(pid, 0.0) for pid, now in self.server.items())
        return self.worker - before.worker, server
