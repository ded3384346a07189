"""on_stop_signals with real signals sent to this very process."""

from __future__ import annotations

import asyncio
import os
import signal
import threading

import pytest
from structlog.testing import capture_logs

from outboxd.signals import on_stop_signals


@pytest.fixture
def previous_handlers():
    """A recognisable Python handler on SIGTERM and SIGINT before the test, the originals back after it."""
    originals = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    received: list[int] = []

    def previous(signum, frame):
        received.append(signum)

    for sig in originals:
        signal.signal(sig, previous)
    yield previous, received
    for sig, handler in originals.items():
        signal.signal(sig, handler)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[bool] = []
        self.event = asyncio.Event()

    def __call__(self, *, force: bool) -> None:
        self.calls.append(force)
        self.event.set()

    async def wait(self) -> None:
        await asyncio.wait_for(self.event.wait(), 1.0)
        self.event.clear()


async def test_first_signal_drains_second_forces_then_handlers_restored(previous_handlers):
    previous, received = previous_handlers
    stop = Recorder()
    with on_stop_signals(stop):
        assert signal.getsignal(signal.SIGTERM) is not previous
        os.kill(os.getpid(), signal.SIGTERM)
        await stop.wait()
        assert stop.calls == [False]
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while draining: stop now
        await stop.wait()
        os.kill(os.getpid(), signal.SIGTERM)
        await stop.wait()
    assert stop.calls == [False, True, True]
    assert received == []
    assert signal.getsignal(signal.SIGTERM) is previous
    assert signal.getsignal(signal.SIGINT) is previous
    os.kill(os.getpid(), signal.SIGTERM)  # reaches the restored handler, not the callback any more
    await asyncio.sleep(0.01)
    assert received == [signal.SIGTERM]
    assert stop.calls == [False, True, True]


async def test_handlers_restored_when_the_block_raises(previous_handlers):
    previous, _ = previous_handlers
    with pytest.raises(RuntimeError), on_stop_signals(Recorder()):
        raise RuntimeError("boom")
    assert signal.getsignal(signal.SIGTERM) is previous
    assert signal.getsignal(signal.SIGINT) is previous


async def test_disabled_leaves_handlers_alone(previous_handlers):
    previous, received = previous_handlers
    stop = Recorder()
    with on_stop_signals(stop, enabled=False):
        assert signal.getsignal(signal.SIGTERM) is previous
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.01)
    assert received == [signal.SIGTERM]
    assert stop.calls == []


def test_outside_the_main_thread_nothing_is_installed(previous_handlers):
    previous, _ = previous_handlers
    seen = []

    async def in_thread() -> None:
        with on_stop_signals(Recorder()):
            seen.append(signal.getsignal(signal.SIGTERM))

    with capture_logs() as logs:
        thread = threading.Thread(target=asyncio.run, args=(in_thread(),))
        thread.start()
        thread.join(5)
    assert seen == [previous]
    assert [entry["event"] for entry in logs] == ["signals.not_installed"]
