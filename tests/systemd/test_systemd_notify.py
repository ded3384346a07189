"""Notifier and Watchdog against a real datagram socket, as systemd would receive them."""

from __future__ import annotations

import asyncio
import os

import pytest
from bridge_setup import wait_until
from structlog.testing import capture_logs

from outboxd.systemd import Notifier, Watchdog


async def test_messages_reach_a_path_socket(notify_socket):
    notifier = Notifier.from_env({"NOTIFY_SOCKET": notify_socket.env_value})
    assert notifier.enabled
    assert notifier.ready(status="0 pending")
    assert await notify_socket.receive() == "READY=1\nSTATUS=0 pending"
    assert notifier.status("12 pending, oldest 3.2 s\nsecond line")
    assert await notify_socket.receive() == "STATUS=12 pending, oldest 3.2 s second line"
    assert notifier.watchdog()
    assert await notify_socket.receive() == "WATCHDOG=1"
    assert notifier.stopping()
    assert await notify_socket.receive() == "STOPPING=1"
    notifier.close()


async def test_messages_reach_an_abstract_socket(abstract_notify_socket):
    notifier = Notifier.from_env({"NOTIFY_SOCKET": abstract_notify_socket.env_value})
    assert notifier.ready()
    assert await abstract_notify_socket.receive() == "READY=1"
    assert notifier.stopping("draining")
    assert await abstract_notify_socket.receive() == "STOPPING=1\nSTATUS=draining"
    notifier.close()


def test_without_notify_socket_every_call_is_a_no_op():
    notifier = Notifier.from_env({"WATCHDOG_USEC": "30000000"})
    assert not notifier.enabled
    assert notifier.watchdog_interval() is None
    assert not notifier.ready()
    assert not notifier.status("x")
    assert not notifier.watchdog()
    assert not notifier.stopping()


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        ("30000000", None, 30.0),
        ("30000000", "self", 30.0),
        ("30000000", "1", None),  # systemd watches another process
        ("", None, None),
        ("0", None, None),
        ("soon", None, None),
    ],
)
def test_watchdog_interval_from_env(usec, pid, expected):
    env = {"NOTIFY_SOCKET": "/run/systemd/notify", "WATCHDOG_USEC": usec}
    if pid is not None:
        env["WATCHDOG_PID"] = str(os.getpid()) if pid == "self" else pid
    assert Notifier.from_env(env).watchdog_interval() == expected


def test_unsupported_transport_is_logged_and_disabled():
    with capture_logs() as logs:
        notifier = Notifier.from_env({"NOTIFY_SOCKET": "vsock:2:1234"})
    assert not notifier.enabled
    assert [entry["event"] for entry in logs] == ["systemd.unsupported_notify_socket"]


def test_send_errors_are_logged_not_raised(tmp_path):
    notifier = Notifier(str(tmp_path / "nobody-listens.sock"))
    with capture_logs() as logs:
        assert not notifier.ready()
    assert logs[0]["event"] == "systemd.notify_failed"
    assert logs[0]["message"] == "READY=1"


async def test_watchdog_pings_only_after_progress(notify_socket):
    """Each 50 ms period ends in a ping or, without progress since the last one, in a ``systemd.watchdog_skipped``
    line: the test waits for those lines, not for a time, before it asserts that no ping came."""
    notifier = Notifier.from_env(
        {"NOTIFY_SOCKET": notify_socket.env_value, "WATCHDOG_USEC": "100000", "WATCHDOG_PID": str(os.getpid())}
    )
    watchdog = Watchdog(notifier)
    assert watchdog.enabled
    with capture_logs() as logs:

        def skipped() -> int:
            return sum(entry["event"] == "systemd.watchdog_skipped" for entry in logs)

        async def periods_skipped(n: int) -> None:
            async def reached() -> bool:
                return skipped() >= n

            await wait_until(reached, 5, f"{n} watchdog periods without progress")

        task = asyncio.create_task(watchdog.run(), name="watchdog")
        try:
            await periods_skipped(5)
            assert notify_socket.pending() == []

            watchdog.progress()
            assert await notify_socket.receive(within=0.2) == "WATCHDOG=1"
            await periods_skipped(6)  # one report of progress earns one ping, not more
            assert notify_socket.pending() == []

            async def main_loop() -> None:
                while True:
                    watchdog.progress()
                    await asyncio.sleep(0.01)

            loop_task = asyncio.create_task(main_loop(), name="main-loop")
            for _ in range(3):  # one ping per period while the loop turns
                assert await notify_socket.receive(within=0.2) == "WATCHDOG=1"
            loop_task.cancel()  # the main loop is stuck from here on
            stuck = skipped()
            await periods_skipped(stuck + 1)  # the progress reported before may have earned one last ping
            notify_socket.pending()
            await periods_skipped(stuck + 3)
            assert notify_socket.pending() == []
        finally:
            task.cancel()
            notifier.close()


async def test_watchdog_without_systemd_waits_until_cancelled():
    watchdog = Watchdog(Notifier.from_env({}))
    assert not watchdog.enabled
    watchdog.progress()
    task = asyncio.create_task(watchdog.run(), name="watchdog")
    for _ in range(3):  # the task's turns: it ran up to its wait (a return would have ended it there)
        await asyncio.sleep(0)
    assert not task.done()  # a lifecycle that stops when a background task ends must not stop for this
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
