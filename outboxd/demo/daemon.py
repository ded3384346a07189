"""The daemon as the demo runs it: ``outboxd run --config ...`` in a process of its own, logging to a file.

It runs as the installed ``outboxd`` command (the one beside this Python), so ``ps`` names it ``outboxd run``, and
the commands the demo prints start with the same full path: they run as shown whether or not it is on PATH.

Its own session, so a Ctrl-C at the terminal reaches the demo only; the demo then stops it with SIGTERM (the
graceful path systemd takes) and waits, killing it only if it overstays. On Linux the daemon also gets SIGTERM
when the demo dies without stopping it (a closed terminal, kill -9), so no daemon outlives its demo.
"""

from __future__ import annotations

import asyncio
import ctypes
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from outboxd.control.client import ControlClient
from outboxd.exceptions import ControlError, OutboxdError

__all__ = ["DaemonProcess", "installed_command"]

READY_WITHIN = 30.0
STOP_WITHIN = 15.0


def installed_command() -> list[str]:
    """The ``outboxd`` command as a full path: the console script beside this Python (a venv's ``bin``), else the
    one on PATH, else this Python running the package's entry point."""
    script = Path(sys.executable).parent / "outboxd"
    if script.is_file():
        return [str(script)]
    found = shutil.which("outboxd")
    return [found] if found else [sys.executable, "-m", "outboxd.cli"]


def _die_with_parent() -> None:
    """In the child, before exec: PR_SET_PDEATHSIG (Linux) asks for SIGTERM when the demo goes away."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


class DaemonProcess:
    def __init__(self, config: Path, socket: Path, log: Path) -> None:
        self.config = config
        self.socket = socket
        self.log = log
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        return self._process.pid if self._process is not None else 0

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                *installed_command(), "run", "--config", str(self.config),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent,
            )  # fmt: skip

    async def wait_ready(self) -> None:
        """Until the control socket says ready; OutboxdError with the log's tail if the daemon dies first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_WITHIN
        async with ControlClient(self.socket, timeout=2.0) as client:
            while loop.time() < deadline:
                if self._process is None or self._process.returncode is not None:
                    raise OutboxdError(f"the daemon stopped at start; its log says:\n{self._tail()}")
                try:
                    if (await client.status())["daemon"]["ready"]:
                        return
                except ControlError:
                    pass
                await asyncio.sleep(0.1)
        raise OutboxdError(f"the daemon was not ready within {READY_WITHIN:g} s; its log says:\n{self._tail()}")

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_WITHIN)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def restart(self) -> None:
        await self.stop()
        await self.start()
        await self.wait_ready()

    def _tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
