"""connect/token reads token files from the token directory only; every refusal is a 400 that tells nothing about
the rest of the file system."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from bridge_setup import secret_file
from daemon_bench import bench

from outboxd.daemon.operations.token_file import MAX_TOKEN_BYTES, read_token_file
from outboxd.exceptions import BadRequest

TOKEN = "company-api-token-0123456789"


@pytest.fixture
def tokens(tmp_path: Path) -> Path:
    directory = tmp_path / "tokens"
    directory.mkdir(mode=0o700)
    return directory


def _write(path: Path, data: bytes | str, mode: int = 0o600) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    path.chmod(mode)
    return path


def test_a_token_is_read_by_its_name_or_its_path_in_the_directory(tokens: Path) -> None:
    _write(tokens / "shop.token", TOKEN + "\n")
    assert read_token_file(tokens, "shop.token").reveal() == TOKEN
    assert read_token_file(tokens, str(tokens / "shop.token")).reveal() == TOKEN


@pytest.mark.parametrize(
    "given",
    ["/etc/shadow", "/etc/passwd", "/nonexistent/x", "../shop.token", "sub/shop.token", "..", ".", "",
     "{tokens}/../shop.token", "{tokens}/sub/shop.token", "shop\x00.token"],
)  # fmt: skip
def test_a_path_outside_the_directory_is_refused_naming_only_the_directory(tokens: Path, given: str) -> None:
    _write(tokens.parent / "shop.token", TOKEN)  # a readable token next to the directory: still refused
    with pytest.raises(BadRequest) as refused:
        read_token_file(tokens, given.format(tokens=tokens))
    message = str(refused.value)
    assert message.startswith(f"token files are read from {tokens} only")
    assert not {"shadow", "passwd", "exist"} & set(message.replace("/", " ").split())


def test_the_same_answer_whether_a_file_outside_exists_or_not(tokens: Path) -> None:
    answers = set()
    for given in ("/etc/passwd", "/etc/no-such-file-here"):
        with pytest.raises(BadRequest) as refused:
            read_token_file(tokens, given)
        answers.add(str(refused.value))
    assert len(answers) == 1


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda d: None, "no file"),
        (lambda d: _write(d / "t", TOKEN, mode=0o644), "mode 0644"),
        (lambda d: _write(d / "t", TOKEN, mode=0o640), "chmod 600"),
        (lambda d: (d / "t").mkdir(), "not a regular file"),
        (lambda d: os.mkfifo(d / "t", 0o600), "not a regular file"),
        (lambda d: (d / "t").symlink_to(_write(d / "real", TOKEN)), "symbolic link"),
        (lambda d: _write(d / "t", b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary"), "not text"),
        (lambda d: _write(d / "t", "x" * (MAX_TOKEN_BYTES + 1)), "larger than"),
        (lambda d: _write(d / "t", "   \n"), "one token"),
        (lambda d: _write(d / "t", "two\nlines-of-text"), "one token"),
        (lambda d: _write(d / "t", "tok\x1b[31men-with-escape"), "one token"),
    ],
)
def test_every_bad_file_is_a_clear_refusal(tokens: Path, make: object, said: str) -> None:
    make(tokens)  # type: ignore[operator]
    with pytest.raises(BadRequest, match=said):
        read_token_file(tokens, "t")


def test_a_missing_directory_is_said(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="cannot be opened"):
        read_token_file(tmp_path / "absent", "t")


async def test_connect_token_on_the_daemon_refuses_with_a_400_and_connects_from_the_directory(tmp_path: Path) -> None:
    async with bench(tmp_path) as b:
        # b.token_file: a good token of a company, 0600, but outside the token directory
        for given in ("/etc/shadow", "/etc/passwd", str(b.token_file), "../s1.token"):
            with pytest.raises(BadRequest, match=r"token files are read from .* only"):
                await b.client.connect_token("s2", given)
        directory = b.config.secrets.token_files_directory
        directory.mkdir(mode=0o700)
        _write(directory / "picture.png", b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
        with pytest.raises(BadRequest, match="not text"):
            await b.client.connect_token("s2", "picture.png")
        assert (await b.client.shop("s2"))["connection"]["state"] == "disconnected"
        secret_file(directory / "s2.token", b.sandbox.issue_api_token(b.companies["s2"]))
        assert (await b.client.connect_token("s2", "s2.token"))["state"] == "connected"
        audit = (await b.client.audit("s2"))["items"]
        assert [(a["action"], a["detail"]["token_file"]) for a in audit] == [("connect.token", "s2.token")]
