#!/usr/bin/env python3
"""Set-up and everyday commands, needing only python3: installs into .venv on first use.

    python3 dev.py demo     simulator + daemon + dashboard on a simulated shop
    python3 dev.py test     ruff, mypy, import-linter, then the whole pytest suite
    python3 dev.py bench    the benchmarks, printing their figures
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".outboxd-installed"


def ensure_venv() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing outboxd and its tools into .venv ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def step(*cmd: str) -> None:
    print("$", " ".join(cmd), flush=True)
    result = subprocess.run(cmd, cwd=ROOT, check=False)
    if result.returncode != 0:
        sys.exit(result.returncode)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in {"demo", "test", "bench"}:
        sys.exit(__doc__)
    ensure_venv()
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    command, rest = argv[0], argv[1:]
    if command == "demo":
        os.execv(str(BIN / "outboxd"), [str(BIN / "outboxd"), "demo", *rest])
    if command == "bench":
        os.execv(str(BIN / "python"), [str(BIN / "python"), str(ROOT / "bench" / "run.py"), *rest])
    step(str(BIN / "ruff"), "check", ".")
    step(str(BIN / "mypy"))
    step(str(BIN / "lint-imports"))
    step(str(BIN / "python"), "-m", "pytest", *rest)


if __name__ == "__main__":
    main(sys.argv[1:])
