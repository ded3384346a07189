"""Reading a company API token file named in a ``connect/token`` call: from the token directory only.

The caller is an operator on the control socket, but the daemon reads with its own rights: a path anywhere would
let a caller learn whether ``/etc/shadow`` exists, its mode, or a line of another file. So a token file is a
name in ``secrets.token_files_directory`` (or a path written inside it); anything else is refused before the file
system is touched, and every refusal is a ``BadRequest`` (HTTP 400) saying how to fix it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from outboxd.exceptions import BadRequest
from outboxd.secrets import Secret

__all__ = ["MAX_TOKEN_BYTES", "read_token_file"]

MAX_TOKEN_BYTES = 4096
"""Larger than any Pennylane token; a bigger file is not a token."""


def read_token_file(directory: Path, given: str) -> Secret:
    """The token in ``given`` (a file name, or a path in ``directory``): a regular file of the daemon's user,
    mode 0600 or 0400, one line of printable text."""
    name = _name_in(directory, given)
    where = directory / name
    try:
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise BadRequest(f"the token directory {directory} cannot be opened ({exc.strerror}): create it, 0700") from exc
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as exc:
        raise BadRequest(_open_refusal(where, exc)) from exc
    finally:
        os.close(dir_fd)
    try:
        _check(where, os.fstat(fd))
    except BadRequest:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_TOKEN_BYTES + 1)
    if len(data) > MAX_TOKEN_BYTES:
        raise BadRequest(f"{where} is larger than {MAX_TOKEN_BYTES} bytes: not a token file")
    try:
        token = data.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{where} is not text: write the token alone in it") from exc
    if not token or not token.isprintable() or any(c.isspace() for c in token):
        raise BadRequest(f"{where} does not hold one token (one line, no spaces): write the token alone in it")
    return Secret(token)


def _name_in(directory: Path, given: str) -> str:
    """The file name ``given`` designates in ``directory``; refused (naming only the directory) otherwise."""
    path = Path(given)
    inside = path.parent == Path(".") if not path.is_absolute() else path.parent == directory
    if not inside or path.name in ("", ".", "..") or "\x00" in given:
        raise BadRequest(
            f"token files are read from {directory} only: put the file there (mode 0600, owned by the daemon's "
            "user) and give its name"
        )
    return path.name


def _open_refusal(where: Path, exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return f"no file {where}: write the token there first (umask 077)"
    if exc.errno == errno.ELOOP:
        return f"{where} is a symbolic link: put the token file itself there"
    return f"{where} cannot be read: {exc.strerror}"


def _check(where: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise BadRequest(f"{where} is not a regular file")
    euid = os.geteuid()
    if euid != 0 and info.st_uid != euid:
        raise BadRequest(f"{where} is owned by uid {info.st_uid}, not by the daemon's user (uid {euid}): chown it")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise BadRequest(f"{where} has mode {mode:04o}: a token must be 0600 or 0400 (chmod 600 {where})")
