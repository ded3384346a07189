"""The redactor holds live secrets only: rotated-out tokens are forgotten, and its pattern is rebuilt lazily."""

from __future__ import annotations

import re
from typing import Any

import pytest

from outboxd.log import Redactor
from outboxd.secrets import MASK, Secret

CLIENT_SECRET = "cs-0123456789abcdef"


def _tokens(generation: int) -> tuple[str, str]:
    return f"access-{generation:08d}-aaaa", f"refresh-{generation:08d}-rrrr"


def test_a_shop_rotating_20000_times_leaves_its_live_tokens_and_the_generation_before() -> None:
    redactor = Redactor([CLIENT_SECRET])
    for generation in range(20_000):
        redactor.live("shop s1", *_tokens(generation))
        if generation % 1000 == 0:
            redactor.scrub("a line between two rotations, as the daemon logs them")
    assert redactor.held == 1 + 2 + 2  # the client secret, the live pair, the pair before (in-flight lines)
    live, before, forgotten = _tokens(19_999), _tokens(19_998), _tokens(19_997)
    line = " ".join([*live, *before, CLIENT_SECRET])
    assert redactor.scrub(line) == " ".join([MASK] * 5)
    assert redactor.scrub(forgotten[0]) == forgotten[0]  # dead at Pennylane two rotations ago: no longer held


def test_each_owner_keeps_its_own_and_an_owner_left_with_none_forgets_at_the_next_change() -> None:
    redactor = Redactor()
    redactor.live("shop s1", Secret("s1-token-aaaaaaaa"))
    redactor.live("shop s2", "s2-token-bbbbbbbb")
    redactor.live("shop s1")  # disconnected: the token stays masked for the lines in flight
    assert redactor.scrub("s1-token-aaaaaaaa s2-token-bbbbbbbb") == f"{MASK} {MASK}"
    redactor.live("shop s1", "s1-token-cccccccc")
    assert redactor.held == 2  # s1's new token, s2's; s1's first one is gone
    assert redactor.scrub("s1-token-cccccccc s2-token-bbbbbbbb") == f"{MASK} {MASK}"


def test_the_pattern_is_compiled_once_per_change_of_the_set_when_a_line_needs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compiled: list[str] = []
    real_compile = re.compile

    def counting(pattern: Any, flags: int = 0) -> re.Pattern[str]:
        compiled.append(pattern)
        return real_compile(pattern, flags)

    redactor = Redactor()
    monkeypatch.setattr(re, "compile", counting)
    for shop in range(1000):  # a start: every shop's tokens registered before anything is logged
        redactor.live(f"shop {shop}", *_tokens(shop))
    assert compiled == []
    assert redactor.scrub(f"sent with {_tokens(7)[0]}") == f"sent with {MASK}"
    redactor.scrub(f"and {_tokens(8)[1]}")
    assert len(compiled) == 1
    redactor.live("shop 7", *_tokens(7))  # the same tokens again (a restore): nothing changes
    redactor.scrub("another line")
    assert len(compiled) == 1
