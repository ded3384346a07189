"""The package's public surface: one sorted ``__all__`` that names everything it exports."""

from __future__ import annotations

import outboxd.pennylane as pennylane


def test_public_names_are_sorted_and_importable() -> None:
    def kind(name: str) -> tuple[int, str]:  # isort order, as ruff keeps it: CONSTANTS, Classes, functions
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert pennylane.__all__ == sorted(pennylane.__all__, key=kind)
    for name in pennylane.__all__:
        assert getattr(pennylane, name) is not None
