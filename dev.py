#!/usr/bin/env python3
"""Set-up and everyday commands, needing only python3: installs into .venv on first use.

    python3 dev.py demo     simulator + daemon + dashboard on a simulated shop
    python3 dev.py test     ruff, mypy, import-linter, then the whole pytest suite
    python3 dev.py bench    the benchmarks, printing their figures
    python3 dev.py lock     refresh requirements.lock (the daemon's dependencies, for installs) and
                            requirements-dev.lock (with the [dev] extra) after a change of pyproject.toml's
                            dependencies; keeps every pin it can, --upgrade takes the newest allowed; needs uv

The .venv gets exactly what requirements-dev.lock pins, each file checked against its hash, then outboxd itself
(editable, no dependencies of its own choosing).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".outboxd-installed"
LOCK = ROOT / "requirements-dev.lock"
LOCKS = {ROOT / "requirements.lock": (), LOCK: ("--extra", "dev")}
LOCK_PYTHON = "3.11"
LOCK_PLATFORM = "x86_64-unknown-linux-gnu"


def ensure_venv() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + LOCK.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing outboxd and its tools into .venv (requirements-dev.lock, hashes checked) ...", flush=True)
    # -qq: errors only; a pip configuration naming absent index directories otherwise prints a warning per package
    pip = [str(BIN / "python"), "-m", "pip", "install", "-qq", "--disable-pip-version-check"]
    subprocess.run([*pip, "--require-hashes", "-r", str(LOCK)], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(wanted)


def lock(argv: list[str]) -> None:
    """The lock files from pyproject.toml's dependencies (and its [dev] extra), with every file's hash."""
    uv = shutil.which("uv")
    if uv is None:
        sys.exit("dev.py lock needs uv: python3 -m pip install --user uv (or pipx install uv), then run it again")
    for path, extra in LOCKS.items():
        command = [uv, "pip", "compile", "pyproject.toml", *extra, "--generate-hashes", "--quiet",
                   "--python-version", LOCK_PYTHON, "--python-platform", LOCK_PLATFORM,
                   "--custom-compile-command", "python3 dev.py lock", "-o", str(path), *argv]  # fmt: skip
        if subprocess.run(command, cwd=ROOT, check=False).returncode != 0:
            sys.exit(f"dev.py lock: uv could not write {path.name}")
    sys.exit(0)


def step(*cmd: str) -> None:
    print("$", " ".join(cmd), flush=True)
    result = subprocess.run(cmd, cwd=ROOT, check=False)
    if result.returncode != 0:
        sys.exit(result.returncode)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in {"demo", "test", "bench", "lock"}:
        sys.exit(__doc__)
    if argv[0] == "lock":
        lock(argv[1:])
    ensure_venv()
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    command, rest = argv[0], argv[1:]
    if command == "demo":
        os.execv(str(BIN / "outboxd"), [str(BIN / "outboxd"), "demo", *rest])
    if command == "bench":
        peers_wanted = "--only" not in rest or "peers" in rest
        if peers_wanted and subprocess.run([str(BIN / "python"), "-c", "import arq, procrastinate"], check=False,
                                           capture_output=True).returncode:  # fmt: skip
            print("installing the [bench] extra (arq, procrastinate: bench/peers) into .venv ...", flush=True)
            subprocess.run([str(BIN / "python"), "-m", "pip", "install", "-qq", "-e", f"{ROOT}[bench]"], check=True)
        os.execv(str(BIN / "python"), [str(BIN / "python"), str(ROOT / "bench" / "run.py"), *rest])
    step(str(BIN / "ruff"), "check", ".")
    step(str(BIN / "mypy"))
    step(str(BIN / "lint-imports"))
    step(str(BIN / "python"), "-m", "pytest", *rest)


if __name__ == "__main__":
    main(sys.argv[1:])
