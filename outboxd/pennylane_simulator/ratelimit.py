"""Pennylane's rate limit: N requests per window per token, with the headers on every answer.

A fixed window per token, opened by its first request. Over the limit: 429, ``retry-after`` in whole
seconds and the plain-text body Pennylane sends (not JSON). The clock is injected so tests never sleep.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

__all__ = ["RateLimiter", "parse_rate_limit"]


@dataclass(slots=True)
class _Window:
    start: float
    used: int


@dataclass
class RateLimiter:
    """``limit`` requests per ``window`` seconds per key; ``enabled=False`` lets everything through (benchmarks)."""

    clock: Callable[[], float]
    limit: int = 25
    window: float = 5.0
    enabled: bool = True
    windows: dict[str, _Window] = field(default_factory=dict)

    def check(self, key: str) -> tuple[dict[str, str], web.Response | None]:
        """Count one request: the headers to add, and the 429 to send instead when over the limit."""
        if not self.enabled:
            return {}, None
        now = self.clock()
        slot = self.windows.get(key)
        if slot is None or now >= slot.start + self.window:
            slot = self.windows[key] = _Window(now, 0)
        reset = slot.start + self.window
        headers = {
            "ratelimit-limit": str(self.limit),
            "ratelimit-reset": str(math.ceil(reset)),
        }
        if slot.used >= self.limit:
            wait = max(1, math.ceil(reset - now))
            headers["ratelimit-remaining"] = "0"
            headers["retry-after"] = str(wait)
            text = f"Rate limit exceeded. Please retry in {wait} seconds."
            return headers, web.Response(status=429, text=text, headers=headers)
        slot.used += 1
        headers["ratelimit-remaining"] = str(self.limit - slot.used)
        return headers, None


def parse_rate_limit(text: str) -> tuple[int, float]:
    """``"25/5"`` -> (25, 5.0): requests per seconds, as the CLI takes it."""
    count, sep, seconds = text.partition("/")
    if not sep:
        raise ValueError(f"rate limit {text!r}: expected REQUESTS/SECONDS, e.g. 25/5")
    limit, window = int(count), float(seconds)
    if limit < 1 or window <= 0:
        raise ValueError(f"rate limit {text!r}: both numbers must be positive")
    return limit, window
