"""Fixtures of the control tests: the daemon double served on a real Unix socket, and a client of it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from control.backend_double import DaemonDouble, serving

from outboxd.control.client import ControlClient


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    """A short directory: a Unix socket path must stay under ~104 bytes, tmp_path can be longer."""
    path = Path(tempfile.mkdtemp(prefix="oxd-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def daemon() -> DaemonDouble:
    return DaemonDouble()


@pytest.fixture
async def socket_path(daemon: DaemonDouble, socket_dir: Path) -> AsyncIterator[Path]:
    async with serving(daemon, socket_dir / "control.sock") as path:
        yield path


@pytest.fixture
async def client(socket_path: Path) -> AsyncIterator[ControlClient]:
    async with ControlClient(socket_path, actor="alice") as control:
        yield control
