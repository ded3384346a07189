"""One Pennylane journal per register: codes of 2 to 5 capital letters, unique within the shop, never renamed.

A code once given is kept (the daemon stores it, the config can pin it); a new register gets a code derived
from its name: the first three letters, then its number spelled in letters (``Caisse 1`` -> ``CAIA``,
``Caisse 2`` -> ``CAIB``, ``Bar`` -> ``BAR``), then the first free variant if that is taken.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping

from outboxd.contract.models import Register
from outboxd.rules.entries import JournalSpec

__all__ = ["JOURNAL_CODE", "assign_journal_codes", "journal_for", "journal_label"]

JOURNAL_CODE = re.compile(r"[A-Z]{2,5}")
_DIGITS = re.compile(r"[0-9]+")


def journal_label(register_name: str) -> str:
    """The journal's label as the accountant reads it in Pennylane."""
    return f"Caisse Kash.Click - {register_name}" if register_name else "Caisse Kash.Click"


def assign_journal_codes(registers: Iterable[Register], existing: Mapping[str, str]) -> dict[str, str]:
    """register id -> journal code for every register, keeping ``existing`` codes (including other registers').

    New registers are taken in id order so the result does not depend on the order of the reference.
    """
    codes = dict(existing)
    taken = set(codes.values())
    for register in sorted(registers, key=lambda r: r.id):
        if register.id in codes:
            continue
        code = next(candidate for candidate in _candidates(register.name or register.id) if candidate not in taken)
        codes[register.id] = code
        taken.add(code)
    return codes


def _letters(number: int) -> str:
    """1 -> A, 26 -> Z, 27 -> AA: a register number spelled in letters (journal codes allow letters only)."""
    text = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        text = chr(ord("A") + rest) + text
    return text


def _candidates(name: str) -> Iterator[str]:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().upper()
    stem = "".join(ch for ch in ascii_name if "A" <= ch <= "Z")[:3] or "CA"
    if len(stem) < 2:
        stem += "X"
    digits = _DIGITS.findall(ascii_name)
    if digits and int(digits[-1]) > 0:
        numbered = stem + _letters(int(digits[-1]))
        if len(numbered) <= 5:
            yield numbered
    else:
        yield stem
    # Variants: the stem followed by one then two letters; 3 + 2 letters stays within 5.
    for size in (1, 2):
        for tail in itertools.product("ABCDEFGHIJKLMNOPQRSTUVWXYZ", repeat=size):
            yield stem + "".join(tail)


def journal_for(register_id: str, register_name: str | None, known: Mapping[str, str]) -> JournalSpec:
    """The journal of one register, derived the same way when the shop's reference has not arrived yet."""
    name = register_name or register_id
    code = known.get(register_id) or assign_journal_codes([Register(register_id, name)], known)[register_id]
    return JournalSpec(register_id, code, journal_label(name))
