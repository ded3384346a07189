"""Each shop's token: the send times of its last rate-limit window, kept across restarts.

Pennylane counts requests per token, not per process: a daemon started right after another (kill -9, a restart)
starts from what the dead one recorded (``outboxd.pennylane.ratelimit``, whose limiter decides when to write: only
while the window is busy, once per request, in the group commit).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from outboxd.store._db import Clock, Database, to_text

__all__ = ["RateWindow"]


class RateWindow:
    """One shop's row: the send times (Unix seconds, rounded up to the millisecond) of its token's last window.
    The send log (``outboxd.pennylane.SendLog``) of the shop's client."""

    def __init__(self, db: Database, clock: Clock, shop_id: str) -> None:
        self._db = db
        self._clock = clock
        self.shop_id = shop_id

    async def recent(self) -> list[float]:
        row = await self._db.read_one("SELECT sent FROM rate_windows WHERE shop_id = $1", (self.shop_id,))
        return [float(t) for t in row[0].split()] if row is not None else []

    async def record(self, sent: Sequence[float]) -> None:
        text = " ".join(f"{math.ceil(t * 1000) / 1000:.3f}" for t in sent)
        await self._db.write(
            "INSERT INTO rate_windows (shop_id, sent, updated_at) VALUES ($1, $2, $3) ON CONFLICT (shop_id) "
            "DO UPDATE SET sent = excluded.sent, updated_at = excluded.updated_at",
            (self.shop_id, text, to_text(self._clock())),
        )
