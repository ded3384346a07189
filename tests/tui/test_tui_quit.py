"""Quitting: keys typed right after ``q`` must not open screens on an app that is closing.

A terminal hands the app ``q`` and the next key in one read when the operator types fast; both are queued before
the quit runs. ``pilot.press`` waits for the app to go idle between keys, so the keys are posted here directly,
in the same tick, as the driver does.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual import events
from tui_session import settle

from tui.app import OutboxdApp


@pytest.mark.parametrize("key", ["m", "c", "f", "b", "enter", "p", "question_mark"])
async def test_a_screen_key_typed_right_after_q_does_not_crash_the_quit(
    make_app: Callable[[], OutboxdApp], key: str
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.post_message(events.Key("q", "q"))
        app.post_message(events.Key(key, None))
        await pilot.pause()
    assert app.return_code == 0  # a crash raises out of run_test (NoMatches) and sets 1
