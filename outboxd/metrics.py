"""Prometheus text exposition, hand-written: a few counters, gauges and one histogram need no library.

The daemon owns one ``Metrics`` instance and passes it explicitly; ``render()`` gives the text format 0.0.4.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Metrics"]

LabelValues = tuple[tuple[str, str], ...]

# Seconds from the producer's INSERT to Pennylane's 201.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def _labels(labels: LabelValues) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@dataclass
class _Histogram:
    buckets: tuple[float, ...]
    counts: list[int]
    total: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        index = bisect_left(self.buckets, value)
        if index < len(self.counts):
            self.counts[index] += 1
        self.total += value
        self.count += 1


@dataclass
class Metrics:
    """Counters by name and labels, and the delivery latency histogram; gauges are given at scrape time."""

    counters: dict[str, dict[LabelValues, float]] = field(default_factory=dict)
    latency: _Histogram = field(default_factory=lambda: _Histogram(LATENCY_BUCKETS, [0] * len(LATENCY_BUCKETS)))

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        series = self.counters.setdefault(name, {})
        key = tuple(sorted(labels.items()))
        series[key] = series.get(key, 0.0) + amount

    def value(self, name: str, **labels: str) -> float:
        return self.counters.get(name, {}).get(tuple(sorted(labels.items())), 0.0)

    def observe_latency(self, seconds: float) -> None:
        self.latency.observe(seconds)

    def render(self, gauges: Iterable[tuple[str, LabelValues, float]] = ()) -> str:
        """The exposition text; ``gauges`` (name, labels, value) are read by the caller from the state database."""
        out: list[str] = []
        for name in sorted(self.counters):
            out.append(f"# TYPE {name} counter")
            out.extend(f"{name}{_labels(k)} {v:g}" for k, v in sorted(self.counters[name].items()))
        seen: set[str] = set()
        for name, labels, value in gauges:
            if name not in seen:
                out.append(f"# TYPE {name} gauge")
                seen.add(name)
            out.append(f"{name}{_labels(labels)} {value:g}")
        name = "outboxd_delivery_latency_seconds"
        out.append(f"# TYPE {name} histogram")
        cumulative = 0
        for bound, count in zip(self.latency.buckets, self.latency.counts, strict=True):
            cumulative += count
            out.append(f'{name}_bucket{{le="{bound:g}"}} {cumulative}')
        out.append(f'{name}_bucket{{le="+Inf"}} {self.latency.count}')
        out.append(f"{name}_sum {self.latency.total:g}")
        out.append(f"{name}_count {self.latency.count}")
        return "\n".join(out) + "\n"
