"""The procrastinate baseline: asyncio + PostgreSQL, one job per outbox row, as a team that knows procrastinate would
write it.

    .venv/bin/python bench/peers/peer_procrastinate.py --outbox OUTBOX --api-url URL --tokens TOKENS.json --log LOG

Its database is bench_procrastinate on 127.0.0.1:5432 (the benchmark creates it afresh; the schema is applied when
missing).

Enqueueing: a poller task in the worker process reads new outbox rows and defers one ``deliver`` job per row, a
poll's rows in one INSERT (``batch_defer_jobs_async``). Its cursor is the largest outbox id among the jobs already
deferred, so a restart neither skips nor repeats a row.

Per-aggregate ordering: ``lock`` = shop and aggregate. procrastinate runs the jobs of one lock one at a time, in the
order they were deferred, and a job waiting for a retry holds back the later ones. (``queueing_lock`` allows one
waiting job per key, so it cannot queue an aggregate's rows; it is not used.)

Retries: a ``RetryStrategy`` on ``Transient`` (exponential), ``Throttled`` (the 429's retry-after) and ``NotYet`` (a
row waiting for its shop's reference or its order: 0.5 s), 10 attempts; any other error fails the job. A job whose
worker died stays ``doing`` until someone retries it: the documented recipe (``get_stalled_jobs`` then ``retry_job``)
runs at start and every 2 s, with a 1 s heartbeat and 5 s before a silent worker counts as stalled. No dedup: a
retried job posts its entries again.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import peer_worker
from peer_http import Throttled, Transient
from peer_job import NotYet, Shop, deliver
from procrastinate import App, PsycopgConnector, RetryStrategy
from procrastinate.jobs import Job
from procrastinate.retry import RetryDecision

STALLED = 5.0
"""Seconds without a heartbeat before a worker's jobs are retried (procrastinate's default: 30; tuned for the
bench, with a heartbeat each second instead of 10)."""
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/bench_procrastinate"


class Strategy(RetryStrategy):
    """procrastinate's exponential strategy, except that a 429 waits what Pennylane said and a row waiting for
    another job's delivery waits half a second."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if self.max_attempts and job.attempts >= self.max_attempts:
            return None
        if isinstance(exception, Throttled):
            return RetryDecision(retry_in={"seconds": exception.retry_after})
        if isinstance(exception, NotYet):
            return RetryDecision(retry_in={"seconds": 0.5})
        return super().get_retry_decision(exception=exception, job=job)


app = App(connector=PsycopgConnector(conninfo=DEFAULT_DSN, min_size=10, max_size=30))
shops: dict[str, Shop] = {}


class PgIds:
    """Ids learnt from Pennylane, in a table beside procrastinate's."""

    async def get(self, shop: str, kind: str, key: str) -> str | None:
        found = await app.connector.execute_query_all_async(
            "SELECT value FROM peer_ids WHERE shop = %(shop)s AND kind = %(kind)s AND key = %(key)s",
            shop=shop, kind=kind, key=key,
        )  # fmt: skip
        return str(found[0]["value"]) if found else None

    async def put(self, shop: str, kind: str, key: str, value: str) -> None:
        await app.connector.execute_query_async(
            "INSERT INTO peer_ids VALUES (%(shop)s, %(kind)s, %(key)s, %(value)s) "
            "ON CONFLICT (shop, kind, key) DO UPDATE SET value = excluded.value",
            shop=shop, kind=kind, key=key, value=value,
        )  # fmt: skip


IDS_DDL = (
    "CREATE TABLE IF NOT EXISTS peer_ids (shop text, kind text, key text, value text, PRIMARY KEY (shop, kind, key))"
)
ids = PgIds()


RETRY = Strategy(max_attempts=10, exponential_wait=2, retry_exceptions={Transient, Throttled, NotYet})
"""procrastinate's exponential wait (2, 4, 8... s) on the errors worth another try; 10 attempts (tuned, as arq's)."""


@app.task(name="deliver", retry=RETRY)
async def deliver_row(row: dict[str, Any]) -> int:
    return await deliver(row, shops[row["shop_id"]], ids)


async def _poll(outbox: Any) -> None:
    found = await app.connector.execute_query_one_async(
        "SELECT coalesce(max((args -> 'row' ->> 'id')::bigint), 0) AS cursor FROM procrastinate_jobs"
    )
    cursor = int(found["cursor"])
    while True:
        rows = peer_worker.rows_after(outbox, cursor)
        if not rows:
            await asyncio.sleep(peer_worker.POLL)
            continue
        jobs = [deliver_row.configure(lock=f"{row['shop_id']}|{row['aggregate_id']}").make_new_job(row=row)
                for row in rows]  # fmt: skip
        await app.job_manager.batch_defer_jobs_async(jobs)
        cursor = rows[-1]["id"]


async def _retry_stalled() -> None:
    while True:
        for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED):
            await app.job_manager.retry_job(job)
        await asyncio.sleep(2.0)


async def main() -> None:
    args = peer_worker.arguments(__doc__.splitlines()[0])
    with peer_worker.outbox(args.outbox) as outbox:
        async with aiohttp.ClientSession() as session, app.open_async():
            found = await app.connector.execute_query_one_async("SELECT to_regclass('procrastinate_jobs') AS t")
            if found["t"] is None:
                await app.schema_manager.apply_schema_async()
            await app.connector.execute_query_async(IDS_DDL)
            shops.update(peer_worker.shops(session, args))
            tasks = [asyncio.create_task(_poll(outbox)), asyncio.create_task(_retry_stalled())]
            peer_worker.ready()
            try:
                await app.run_worker_async(
                    concurrency=args.concurrency, install_signal_handlers=False, update_heartbeat_interval=1.0,
                    stalled_worker_timeout=STALLED,
                )  # fmt: skip
            finally:
                for task in tasks:
                    task.cancel()


if __name__ == "__main__":
    asyncio.run(main())
