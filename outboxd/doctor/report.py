"""The doctor's report: one line per check for a person, or one JSON document for a script."""

from __future__ import annotations

import json
from collections.abc import Sequence

from outboxd.doctor.result import CheckResult, Status, exit_code

__all__ = ["render_json", "render_text"]

_WORDS = {Status.OK: "ok", Status.WARN: "warn", Status.FAIL: "FAIL", Status.SKIP: "skip"}


def render_text(results: Sequence[CheckResult]) -> str:
    """``✓ ok    state database   /var/lib/outboxd/state.sqlite3: ...`` with ``fix:`` under each problem."""
    width = max((len(r.title) for r in results), default=0)
    lines = []
    for result in results:
        lines.append(f"{result.status.mark} {_WORDS[result.status]:<4}  {result.title:<{width}}  {result.summary}")
        if result.fix and result.status in (Status.WARN, Status.FAIL):
            lines.append(f"{'':<8}{'':<{width}}  fix: {result.fix}")
    counts = {status: sum(1 for r in results if r.status is status) for status in Status}
    code = exit_code(results)
    verdict = "something is wrong" if code else "all good"
    lines.append(
        f"\n{verdict}: {counts[Status.FAIL]} failed, {counts[Status.WARN]} warning(s), "
        f"{counts[Status.OK]} ok, {counts[Status.SKIP]} skipped (exit {code})"
    )
    return "\n".join(lines)


def render_json(results: Sequence[CheckResult]) -> str:
    """``{"ok", "exit_code", "counts", "checks": [{"check", "title", "status", "summary", "fix"}]}``."""
    document = {
        "ok": exit_code(results) == 0,
        "exit_code": exit_code(results),
        "counts": {status.value: sum(1 for r in results if r.status is status) for status in Status},
        "checks": [
            {"check": r.check, "title": r.title, "status": r.status.value, "summary": r.summary, "fix": r.fix}
            for r in results
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)
