"""What one check found: a status an operator reads in words, a one-line summary and the fix when it is not ok.

Every check is a small function returning a :class:`CheckResult`, so a test calls it directly and the report
only renders what came back. A warning never fails the run: it names something to look at, not something broken.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["CheckResult", "Status", "exit_code"]


class Status(enum.Enum):
    """The outcome of one check, with the mark and the word the report prints (never colour only)."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"

    @property
    def mark(self) -> str:
        return {"ok": "✓", "warn": "!", "fail": "✗", "skip": "-"}[self.value]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One line of the report. ``check`` is a stable name for scripts (``secret.token_key``, ``shop.<id>``)."""

    check: str
    title: str
    status: Status
    summary: str
    fix: str = ""

    @classmethod
    def ok(cls, check: str, title: str, summary: str) -> CheckResult:
        return cls(check, title, Status.OK, summary)

    @classmethod
    def warn(cls, check: str, title: str, summary: str, fix: str) -> CheckResult:
        return cls(check, title, Status.WARN, summary, fix)

    @classmethod
    def fail(cls, check: str, title: str, summary: str, fix: str) -> CheckResult:
        return cls(check, title, Status.FAIL, summary, fix)

    @classmethod
    def skip(cls, check: str, title: str, summary: str) -> CheckResult:
        return cls(check, title, Status.SKIP, summary)


def exit_code(results: Iterable[CheckResult]) -> int:
    """1 when any check failed, else 0: warnings and skipped checks do not fail the run."""
    return 1 if any(r.status is Status.FAIL for r in results) else 0
