"""The arq baseline: asyncio + Redis, one job per outbox row, as a team that knows arq would write it.

    .venv/bin/python bench/peers/peer_arq.py --outbox OUTBOX --api-url URL --tokens TOKENS.json --log LOG

Enqueueing: a poller task in the worker process reads new outbox rows past a cursor kept in Redis, adds them to
their aggregates with the cursor in one MULTI, and enqueues ``deliver_row`` with ``_job_id`` = the row's
``event_id``, so enqueueing a row twice is refused by arq itself.

Per-aggregate ordering, with arq's means (it has no locks): a chain. Each aggregate's pending rows sit in a Redis
sorted set (score = outbox id); only its head has a job. A job that succeeds removes its row and enqueues the new
head in the same step. A restarted worker enqueues every aggregate's head again (arq refuses those still queued).

Retries: a 429 is ``Retry(defer=retry-after)``; a 5xx, timeout or cut connection ``Retry(defer=backoff)``; a row
waiting for its shop's reference or its order ``Retry(defer=0.5)``; ``max_tries`` = 10; any other error fails
the job (arq keeps the failure as the job's result). A job whose worker died is run again once its in-progress
key expires (``job_timeout`` + 10 s). No dedup: a rerun posts its entries again.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import peer_worker
from arq import Retry, Worker
from arq.connections import ArqRedis, RedisSettings
from peer_http import Throttled, Transient
from peer_job import NotYet, deliver

REDIS = RedisSettings(host="127.0.0.1", port=6379, database=9)
"""A Redis database of the benchmark's own: ``FLUSHDB`` before each run."""
CURSOR, DELIVERED, IDS = "peer:cursor", "peer:delivered", "peer:ids:"
JOB_TIMEOUT = 10
"""Seconds: arq's default is 300, so a killed job would wait 310 s before it ran again (tuned for the bench)."""
MAX_TRIES = 10
"""arq's default is 5: too few for a shop whose 429s each spend a try (tuned for the bench)."""


def _aggregate(row: dict[str, Any]) -> str:
    return f"peer:agg:{row['shop_id']}|{row['aggregate_id']}"


class RedisIds:
    """Ids learnt from Pennylane, one Redis hash per shop."""

    def __init__(self, redis: ArqRedis) -> None:
        self.redis = redis

    async def get(self, shop: str, kind: str, key: str) -> str | None:
        value = await self.redis.hget(IDS + shop, f"{kind}:{key}")
        return None if value is None else value.decode()

    async def put(self, shop: str, kind: str, key: str, value: str) -> None:
        await self.redis.hset(IDS + shop, f"{kind}:{key}", value)


async def deliver_row(ctx: dict[str, Any], row: dict[str, Any]) -> int:
    try:
        posted = await deliver(row, ctx["shops"][row["shop_id"]], ctx["ids"])
    except Throttled as exc:
        raise Retry(defer=exc.retry_after) from exc
    except Transient as exc:
        raise Retry(defer=min(10.0, 0.2 * 2 ** ctx["job_try"])) from exc
    except NotYet as exc:
        raise Retry(defer=0.5) from exc
    redis: ArqRedis = ctx["redis"]
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zrem(_aggregate(row), row["id"])
        pipe.zrange(_aggregate(row), 0, 0)
        pipe.incr(DELIVERED)
        _, head, _ = await pipe.execute()
    if head:
        await _enqueue(ctx, peer_worker.row(ctx["outbox"], int(head[0])))
    return posted


async def _enqueue(ctx: dict[str, Any], row: dict[str, Any]) -> None:
    await ctx["redis"].enqueue_job("deliver_row", row, _job_id=row["event_id"])


async def _poll(ctx: dict[str, Any]) -> None:
    """Outbox -> each row into its aggregate's set; a row that is its aggregate's head gets its job."""
    redis: ArqRedis = ctx["redis"]
    cursor = int(await redis.get(CURSOR) or 0)
    while True:
        rows = peer_worker.rows_after(ctx["outbox"], cursor)
        if not rows:
            await asyncio.sleep(peer_worker.POLL)
            continue
        cursor = rows[-1]["id"]
        async with redis.pipeline(transaction=True) as pipe:  # a row is added once: with the cursor past it
            for row in rows:
                pipe.zadd(_aggregate(row), {str(row["id"]): row["id"]})
            pipe.set(CURSOR, cursor)
            await pipe.execute()
        batch = {row["id"]: row for row in rows}
        async with redis.pipeline(transaction=False) as pipe:
            aggregates = list(dict.fromkeys(_aggregate(row) for row in rows))
            for key in aggregates:
                pipe.zrange(key, 0, 0)
            heads = await pipe.execute()
        for head in heads:  # a kill before these: the restart's _requeue_heads enqueues them
            if head and int(head[0]) in batch:
                await _enqueue(ctx, batch[int(head[0])])


async def _requeue_heads(ctx: dict[str, Any]) -> None:
    """After a restart: every aggregate's head gets its job again, unless arq still has it."""
    redis: ArqRedis = ctx["redis"]
    async for key in redis.scan_iter(match="peer:agg:*", count=1000):
        head = await redis.zrange(key, 0, 0)
        if head:
            await _enqueue(ctx, peer_worker.row(ctx["outbox"], int(head[0])))


async def main() -> None:
    args = peer_worker.arguments(__doc__.splitlines()[0])
    with peer_worker.outbox(args.outbox) as outbox:
        async with aiohttp.ClientSession() as session:
            ctx: dict[str, Any] = {"outbox": outbox, "shops": peer_worker.shops(session, args)}

            async def startup(ctx: dict[str, Any]) -> None:
                ctx["ids"] = RedisIds(ctx["redis"])
                await _requeue_heads(ctx)
                ctx["poller"] = asyncio.create_task(_poll(ctx))
                peer_worker.ready()

            worker = Worker(
                functions=[deliver_row], redis_settings=REDIS, ctx=ctx, on_startup=startup,
                max_jobs=args.concurrency, job_timeout=JOB_TIMEOUT, max_tries=MAX_TRIES, poll_delay=peer_worker.POLL,
                handle_signals=False,
            )  # fmt: skip
            await worker.async_run()


if __name__ == "__main__":
    asyncio.run(main())
