"""docs/operations.md's Metrics table names every series the daemon serves, and no other.

The names are read from the package's source (each series is named once, as a string literal where it is counted or
read), so a new counter without a line in the operator's guide fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
SERIES = re.compile(r"[\"'](outboxd_[a-z_]+)[\"']")


def test_the_metrics_table_of_the_operations_guide_lists_every_series_served() -> None:
    served = {name for path in (ROOT / "outboxd").rglob("*.py") for name in SERIES.findall(path.read_text())}
    guide = (ROOT / "docs" / "operations.md").read_text()
    section = guide[guide.index("## Metrics") : guide.index("\n## ", guide.index("## Metrics") + 1)]
    documented = set(re.findall(r"^\| `(outboxd_[a-z_]+)` \|", section, re.MULTILINE))
    assert "outboxd_delivery_latency_seconds" in served  # the reading of the source works
    assert documented == served
