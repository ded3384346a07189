"""A real AF_UNIX datagram socket standing in for systemd's notify socket."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


class NotifyListener:
    """The receiving end of NOTIFY_SOCKET: collects what the daemon sends, one datagram per message."""

    def __init__(self, sock: socket.socket, env_value: str) -> None:
        self.sock = sock
        self.env_value = env_value  # what systemd would put in NOTIFY_SOCKET

    async def receive(self, within: float = 1.0) -> str:
        """The next datagram, waiting up to ``within`` seconds."""
        async with asyncio.timeout(within):
            data = await asyncio.get_running_loop().sock_recv(self.sock, 4096)
        return data.decode()

    def pending(self) -> list[str]:
        """Every datagram already received, without waiting."""
        messages = []
        while True:
            try:
                messages.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return messages


def _listener(address: str, env_value: str) -> NotifyListener:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.setblocking(False)
    return NotifyListener(sock, env_value)


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifyListener]:
    """A notify socket at a filesystem path (sun_path holds 108 bytes: fall back to a short temp dir)."""
    directory = tmp_path if len(str(tmp_path)) < 90 else Path(tempfile.mkdtemp(prefix="sdn"))
    path = str(directory / "notify.sock")
    listener = _listener(path, path)
    yield listener
    listener.sock.close()
    os.unlink(path)


@pytest.fixture
def abstract_notify_socket() -> Iterator[NotifyListener]:
    """A notify socket in the abstract namespace, as systemd passes it: ``@name``."""
    name = f"outboxd-test-{os.getpid()}-{os.urandom(4).hex()}"
    listener = _listener("\0" + name, "@" + name)
    yield listener
    listener.sock.close()
