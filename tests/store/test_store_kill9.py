"""kill -9 durability: a process killed mid-write leaves a consistent state database with every committed row."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from pathlib import Path

from store_helpers import Producer

from outboxd.outbox import OutboxSource
from outboxd.store import open_store

_WRITER = """
import asyncio, sys
from outboxd.outbox import OutboxSource
from outboxd.store import open_store

async def main(outbox, state):
    async with OutboxSource(outbox) as source, open_store(state, owner="victim") as store:
        while True:
            await store.deliveries.ingest_from(source, 7)
            for d in await store.deliveries.claim(5):
                await store.deliveries.mark_delivered(d.id)
            print(await store.deliveries.cursor(), flush=True)  # committed before it is printed

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_sigkill_loses_nothing_committed(tmp_path: Path, outbox_path: Path, producer: Producer) -> None:
    producer.insert(*[f"order:{i % 40}" for i in range(3000)])
    state = tmp_path / "state.db"
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _WRITER, str(outbox_path), str(state), stdout=asyncio.subprocess.PIPE
    )
    assert child.stdout is not None
    committed = 0
    while committed < 700:
        line = await asyncio.wait_for(child.stdout.readline(), timeout=30)
        assert line, "the writer stopped on its own"
        committed = int(line)
    child.send_signal(signal.SIGKILL)
    await child.wait()
    assert child.returncode == -signal.SIGKILL

    with sqlite3.connect(state) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        cursor = conn.execute("SELECT last_id FROM ingest_cursor").fetchone()[0]
        ids = [r[0] for r in conn.execute("SELECT outbox_id FROM deliveries ORDER BY id")]
        by_state = dict(conn.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall())
        counted = dict(conn.execute("SELECT state, n FROM queue_counts WHERE n > 0").fetchall())
    assert cursor >= committed
    assert ids == list(range(1, cursor + 1))  # cursor and rows committed together, no gap, no duplicate
    assert by_state == counted  # the trigger-kept counters are as durable as the rows
    async with OutboxSource(outbox_path) as source, open_store(state, owner="next") as store:
        while await store.deliveries.ingest_from(source, 1000):
            pass
        # the victim's leases expire; a restarted daemon with the victim's name would get them back at once
        assert await store.deliveries.cursor() == 3000
