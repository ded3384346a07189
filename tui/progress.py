"""A backfill's rate as the dashboard shows it: events settled over the last few minutes, so the ETA moves slowly.

The daemon's own rate covers one minute, and a backfill's pace is uneven (a new customer costs two more requests,
the rate limit's window empties and refills): seen every second, its ETA swung by a factor of two. Here the rate is
the progress over a sliding window of :data:`WINDOW_SECONDS`, and the daemon's figure fills in until the window has
seen enough.
"""

from __future__ import annotations

from collections import deque

__all__ = ["WINDOW_SECONDS", "RateWindow"]

WINDOW_SECONDS = 180.0
MIN_SPAN = 20.0
"""Below this much observed time the window's own rate is noise: the daemon's rate is used."""


class RateWindow:
    """``(time, done)`` samples of one backfill; a new backfill id starts afresh."""

    def __init__(self) -> None:
        self._id: object = None
        self._samples: deque[tuple[float, int]] = deque()

    def rate(self, backfill_id: object, now: float, done: int, daemon_rate: float) -> float:
        """Events per second over the window, after recording ``done`` at ``now``."""
        if backfill_id != self._id:
            self._id, self._samples = backfill_id, deque()
        self._samples.append((now, done))
        while len(self._samples) > 2 and self._samples[1][0] <= now - WINDOW_SECONDS:
            self._samples.popleft()
        first_at, first_done = self._samples[0]
        if now - first_at < MIN_SPAN or done <= first_done:
            return daemon_rate
        return (done - first_done) / (now - first_at)

    @staticmethod
    def eta(left: int, rate: float) -> float | None:
        return left / rate if rate > 0 else None
