"""The lock files pin, with hashes, a version allowed by pyproject.toml for every dependency it declares."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PINNED = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\]+)\s*\\\n((?:\s+--hash=sha256:[0-9a-f]{64}\s*\\?\n)+)", re.M)


def _pins(lock: Path) -> dict[str, str]:
    text = lock.read_text()
    pins = {canonicalize_name(name): version for name, version, _ in PINNED.findall(text)}
    assert len(pins) == text.count("=="), f"{lock.name}: a pin without its hashes"
    return pins


def _declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [*project["dependencies"], *(line for extra in extras for line in project["optional-dependencies"][extra])]
    return [Requirement(line) for line in lines]


@pytest.mark.parametrize(("lock", "extras"), [("requirements.lock", ()), ("requirements-dev.lock", ("dev",))])
def test_every_declared_dependency_is_pinned_within_its_bounds_with_hashes(lock: str, extras: tuple[str, ...]) -> None:
    pins = _pins(ROOT / lock)
    for requirement in _declared(*extras):
        version = pins.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not in {lock}: run python3 dev.py lock"
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {requirement.name}=={version}, outside {requirement.specifier}: run python3 dev.py lock"
        )


def test_the_install_lock_holds_no_development_tool() -> None:
    tools = {canonicalize_name(r.name) for r in _declared("dev")} - {canonicalize_name(r.name) for r in _declared()}
    assert not tools & set(_pins(ROOT / "requirements.lock"))
