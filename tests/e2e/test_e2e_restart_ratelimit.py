"""kill -9 and an immediate restart under Pennylane's rate limit, OAuth tokens rotating every few seconds: the
simulator enforces 25 requests per 5 s per token and counts every 429. Pennylane counts per token, not per
process, so a daemon that starts with an empty window spends a budget the dead one already used."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from e2e_killloop import kill_loop

SOAK = os.environ.get("OUTBOXD_SOAK") == "1"


async def _restarts(root: Path, kills: int, events: int) -> None:
    result = await kill_loop(root, kills=kills, events=events, seed=11, rate_limit=(25, 5.0), token_life=8)
    print("\n".join(result.lines()))
    assert result.rate_limited == 0
    assert result.duplicates == 0
    assert result.lost == 0
    assert result.balance_exact
    assert result.refresh_reused == 0
    assert result.rotations >= kills // 2  # tokens really rotated during the run


@pytest.mark.timeout(240)
async def test_five_restarts_under_the_rate_limit_get_no_429(tmp_path: Path) -> None:
    await _restarts(tmp_path / "bridge", kills=5, events=120)


@pytest.mark.slow
@pytest.mark.skipif(not SOAK, reason="a soak of 2.5 min: OUTBOXD_SOAK=1 runs it; the suite runs the five restarts "
                    "above, and `python3 dev.py bench --only restarts` measures 50")
@pytest.mark.timeout(900)
async def test_fifty_restarts_under_the_rate_limit_get_no_429(tmp_path: Path) -> None:
    await _restarts(tmp_path / "bridge", kills=50, events=600)
