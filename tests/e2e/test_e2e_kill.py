"""kill -9 of the daemon at random moments, restarted each time, while a producer keeps inserting: every event
delivered exactly once (no loss, no duplicate piece_number), trial balance exact. OUTBOXD_SOAK=1 runs longer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from e2e_killloop import kill_loop

SOAK = os.environ.get("OUTBOXD_SOAK") == "1"


@pytest.mark.slow
@pytest.mark.timeout(900 if SOAK else 150)
async def test_kill_9_at_random_moments_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    kills, events = (200, 6000) if SOAK else (20, 600)
    result = await kill_loop(tmp_path / "bridge", kills=kills, events=events, seed=3)
    print("\n".join(result.lines()))
    assert result.kills == kills
    assert result.delivered == result.events == events
    assert result.lost == 0
    assert result.duplicates == 0
    assert result.balance_exact
