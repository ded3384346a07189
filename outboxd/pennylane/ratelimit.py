"""Client-side rate limit per token: a sliding window that never sends more than the budget.

Pennylane allows 25 requests per 5 s per token and says so in ``ratelimit-*`` headers. The limiter keeps its own
log of send times (so a burst never exceeds the budget), adopts the server's view when it is stricter, and
stops everything for ``retry-after`` after a 429. Waits are counted for metrics, never treated as failures.

``ratelimit-reset`` is whole seconds, rounded up: waiting for it costs up to a second per window, 10-20 % of the
budget. When one of our requests opened the server's window (its answer says ``remaining = limit - 1``), the
window ends at the latest one window after that answer came back, so a used-up window is waited out to that
instant instead (bench/bench_ratelimit.py: 92 -> 97 % of the budget).

Pennylane counts per token, not per process: a process started right after another (kill -9, a restart) must not
spend a full budget the dead one already used. With a ``send_log``, the send times of the window are written
durably before a request leaves once more than ``UNRECORDED`` of the budget is in use, and a new limiter starts
(at its first request) from the recorded times plus that unrecorded share assumed spent just now: whatever the last
process sent, the two never exceed the limit in any window, and a quiet token costs no write at all. A send is
counted from when it leaves, after its write: a slow write (a loaded state database) delays it, and counted from
before, it and the next sends (quick writes) could fall into one server window beyond the budget.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["UNRECORDED", "RateLimiter", "RateUsage", "SendLog"]

UNRECORDED = 0.5
"""Share of the budget sent without a write to the send log: a new process assumes that much was sent just before it."""


class SendLog(Protocol):
    """Where a token's send times outlive the process (the state database)."""

    async def recent(self) -> Sequence[float]:
        """The send times last recorded (Unix seconds)."""

    async def record(self, sent: Sequence[float]) -> None:
        """Keep ``sent`` durably; raise if it could not (the request is then not sent)."""


@dataclass(frozen=True)
class RateUsage:
    """A snapshot for the dashboard and metrics."""

    in_window: int
    limit: int
    window: float
    throttled_seconds: float
    """Time spent waiting for our own budget."""
    retry_after_seconds: float
    """Time spent waiting after 429s."""
    rate_limited: int
    """429 answers received."""


class RateLimiter:
    """Sliding-window limiter for one token. ``clock`` is a Unix-time clock (``ratelimit-reset`` is a Unix time).

    ``jitter_margin`` widens our window a little: we time a request when it leaves, the server when it
    arrives, and network jitter must not squeeze ``limit + 1`` arrivals into one server window.
    """

    def __init__(
        self,
        limit: int = 25,
        window: float = 5.0,
        *,
        jitter_margin: float = 0.1,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        send_log: SendLog | None = None,
    ) -> None:
        self._limit = limit
        self._window = window
        self._span = window + jitter_margin
        self._clock = clock
        self._sleep = sleep
        self._log = send_log
        self._unrecorded = int(limit * UNRECORDED)
        self._resumed = send_log is None
        self._sent: collections.deque[float] = collections.deque()
        self._assumed = 0
        """Sends a previous process may have made unrecorded, counted as made at resume (until ``_assumed_until``)."""
        self._assumed_until = 0.0
        self._blocked_until = 0.0
        self._server_remaining: int | None = None
        self._server_reset = 0.0
        self._opened: tuple[float, float] | None = None
        """(``ratelimit-reset``, end) of the last server window one of our requests opened (see the module doc)."""
        self._lock = asyncio.Lock()
        self._throttled = 0.0
        self._retry_after = 0.0
        self._rate_limited = 0

    def usage(self) -> RateUsage:
        self._forget(self._clock())
        return RateUsage(
            self._in_window(), self._limit, self._window, self._throttled, self._retry_after, self._rate_limited
        )

    async def acquire(self) -> None:
        """Wait until one more request fits the budget, then count it as sent (in the send log first, when busy)."""
        async with self._lock:
            if not self._resumed:
                await self._resume()
            while (delay := self._delay(self._clock())) > 0:
                self._throttled += delay
                await self._sleep(delay)
            now = self._clock()
            self._sent.append(now)
            if self._server_remaining is not None:
                self._server_remaining -= 1
            if self._log is not None and self._in_window() > self._unrecorded:
                await self._log.record(tuple(self._sent))
                # it leaves now, after the write: counted from here, a slow write never squeezes a window's sends
                self._sent[-1] = max(self._sent[-1], self._clock())

    async def _resume(self) -> None:
        """Start from what the previous process recorded, plus the share it may have sent without recording."""
        assert self._log is not None
        recent = await self._log.recent()
        now = self._clock()
        self._sent.extend(sorted(t for t in recent if t > now - self._span))
        self._assumed, self._assumed_until = self._unrecorded, now + self._span
        self._resumed = True

    def observe(self, headers: Mapping[str, str]) -> None:
        """Adopt the server's ``ratelimit-limit/remaining/reset`` when they are stricter than our own view."""
        try:
            limit = int(headers["ratelimit-limit"])
            remaining = int(headers["ratelimit-remaining"])
            reset = float(headers["ratelimit-reset"])
        except (KeyError, ValueError):
            return
        now = self._clock()
        if 0 < limit < self._limit:
            self._limit = limit
        if remaining == limit - 1:  # this request opened the window: the server counted it before we got this
            self._opened = (reset, now + self._window)
        if self._opened is not None and self._opened[0] == reset:
            reset = min(reset, self._opened[1])
        reset = min(reset, now + self._window)  # a skewed server clock never stalls us past one window
        if reset > now:
            self._server_remaining, self._server_reset = max(remaining, 0), reset

    def rate_limited(self, retry_after: float) -> None:
        """A 429 came back: nothing is sent for ``retry_after`` seconds."""
        self._rate_limited += 1
        self._blocked_until = max(self._blocked_until, self._clock() + retry_after)

    async def wait_retry_after(self) -> None:
        """Sleep out a 429 pause (counted apart from our own throttling)."""
        delay = self._blocked_until - self._clock()
        if delay > 0:
            self._retry_after += delay
            await self._sleep(delay)

    def _in_window(self) -> int:
        return len(self._sent) + self._assumed

    def _forget(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self._span:
            self._sent.popleft()
        if self._assumed and now >= self._assumed_until:
            self._assumed = 0
        if self._server_remaining is not None and now >= self._server_reset:
            self._server_remaining = None

    def _delay(self, now: float) -> float:
        """Seconds until a request may go out (0 when it may go now)."""
        self._forget(now)
        waits = [self._blocked_until - now]
        if (over := self._in_window() - self._limit + 1) > 0:
            waits.append(self._room_at(over) - now)
        if self._server_remaining is not None and self._server_remaining <= 0:
            waits.append(self._server_reset - now)
        return max(waits)

    def _room_at(self, over: int) -> float:
        """When ``over`` of the sends counted now (ours and the assumed ones) will have left the window."""
        sent = self._sent
        before = sum(1 for t in sent if t + self._span < self._assumed_until) if self._assumed else len(sent)
        if over <= before:
            return sent[over - 1] + self._span
        if over <= before + self._assumed:
            return self._assumed_until
        return sent[over - self._assumed - 1] + self._span
