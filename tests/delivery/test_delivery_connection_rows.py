"""ConnectionRows: a lane's own writes (its token rotations) are no change; a row written elsewhere is loaded, a
connection on an owned lane only once the writer's rate window has passed; a row read during a local change is
read again."""

from __future__ import annotations

import datetime as dt

from outboxd.delivery.connection_rows import ConnectionRows, fingerprint, token_print
from outboxd.store import Connection

WINDOW = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def row(token: str, state: str = "connected") -> Connection:
    """The shop's stored OAuth connection with access token ``token``."""
    return Connection("shop-1", "oauth", token, "refresh", None, (), 1, "Boutique", state,
                      dt.datetime(2026, 3, 14, tzinfo=dt.UTC))  # fmt: skip


def verdict(rows: ConnectionRows, version: str, stored: Connection | None, *, owned: bool = True) -> bool:
    mark = rows.stale("shop-1", version)
    assert mark is not None, "settled already"
    return rows.verdict("shop-1", version, mark, stored, owned=owned)


def test_own_rotations_are_no_change_even_when_the_write_failed() -> None:
    rows = ConnectionRows(WINDOW, clock=Clock())
    rows.wrote("shop-1", fingerprint(row("at-1")))
    assert not verdict(rows, "v1", row("at-1"))
    rows.wrote("shop-1", token_print("oauth", "connected", "at-1"), token_print("oauth", "connected", "at-2"))
    assert not verdict(rows, "v2", row("at-2"))  # written: its own
    assert rows.stale("shop-1", "v2") is None  # settled: not read again
    assert not verdict(rows, "v3", row("at-1"))  # not written (the pair in use is still the row's): no reload


def test_a_connection_made_elsewhere_waits_the_rate_window_on_an_owned_lane() -> None:
    clock = Clock()
    rows = ConnectionRows(WINDOW, clock=clock)
    rows.wrote("shop-1", fingerprint(row("at-1", "reconnect_needed")))
    assert not verdict(rows, "v2", row("at-2"))
    clock.now += WINDOW - 0.1
    assert not verdict(rows, "v2", row("at-2"))
    clock.now += 0.1
    assert verdict(rows, "v2", row("at-2"))
    assert rows.stale("shop-1", "v2") is None


def test_the_wait_is_not_restarted_by_each_rotation_elsewhere() -> None:
    clock = Clock()
    rows = ConnectionRows(WINDOW, clock=clock)
    rows.wrote("shop-1", fingerprint(None))
    for n in range(3):  # a new pair every 2 s, faster than the window
        assert not verdict(rows, f"v{n}", row(f"at-{n}"))
        clock.now += 2
    assert verdict(rows, "v3", row("at-3"))  # 6 s after the first


def test_going_down_and_any_change_on_a_lane_not_owned_apply_at_once() -> None:
    rows = ConnectionRows(WINDOW, clock=Clock())
    rows.wrote("shop-1", fingerprint(row("at-1")))
    assert verdict(rows, "v2", row("at-1", "reconnect_needed"))
    assert verdict(rows, "v3", None)
    assert verdict(rows, "v4", row("at-4"), owned=False)
    assert not verdict(rows, "v5", row("at-4"))  # now known


def test_a_row_read_while_the_lane_changed_here_is_read_again() -> None:
    rows = ConnectionRows(WINDOW, clock=Clock())
    rows.wrote("shop-1", fingerprint(row("at-1")))
    mark = rows.stale("shop-1", "v2")
    assert mark is not None
    rows.changed("shop-1")  # a connect through this replica attached a client meanwhile
    assert not rows.verdict("shop-1", "v2", mark, None, owned=True)
    assert rows.stale("shop-1", "v2") is not None
