"""One JSON reader for the command line: every bad file gets exit 1 and one line naming it.

The reader (:mod:`playground.core.jsonfile`) is tested directly, then through ``validate`` in
this process (``main()`` returns the exit code), and once as a real subprocess with a file
name no terminal can print as it is.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from playground.cli import main
from playground.core.jsonfile import (
    MAX_DEPTH,
    MAX_JSON_BYTES,
    JsonFileError,
    decode_json,
    depth_exceeds,
    read_json_file,
    read_request_file,
)

ROOT = Path(__file__).resolve().parents[1]
VALID = {"model": "wan2.7-t2v", "input": {"prompt": "p"}}


@dataclass(frozen=True)
class Bad:
    """A file's bytes and the words its one error line must hold."""

    label: str
    content: bytes
    words: tuple[str, ...]


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


BAD_FILES = [
    Bad("empty", b"", ("the file is empty",)),
    Bad("only whitespace", b" \n\t\r\n", ("the file is empty",)),
    Bad("a PNG", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ("byte 0x89 at offset 0 is not UTF-8",)),
    Bad("Latin-1 text", '{"prompt": "café"}'.encode("latin-1"), ("byte 0xe9 at offset 15 is not UTF-8",)),
    Bad("a UTF-8-encoded lone surrogate", b'{"prompt": "\xed\xa0\x80"}', ("byte 0xed at offset 12 is not UTF-8",)),
    Bad("UTF-16 with a BOM", json.dumps(VALID).encode("utf-16"), ("UTF-16 text; save it as UTF-8",)),
    Bad("UTF-16 without a BOM", json.dumps(VALID).encode("utf-16-le"), ("NUL byte at offset 1",)),
    Bad("NUL bytes", b"\x00" * 64, ("NUL byte at offset 0", "a binary file")),
    Bad("a UTF-8 BOM", b"\xef\xbb\xbf" + json.dumps(VALID).encode(), ("byte-order mark",)),
    Bad("truncated JSON", b'{"model": "wan2.7-t2v", "input": {"pro', ("not valid JSON at line 1, column 35",)),
    Bad("nested past the recursion limit", nested(100_000), ("nested too deeply",)),
    Bad("nested past the depth cap", nested(MAX_DEPTH + 1), (f"nested more than {MAX_DEPTH} levels deep",)),
    Bad("a 5000-digit number", b'{"seed": ' + b"9" * 5000 + b"}", ("JSON that cannot be read", "digits")),
    Bad("a list", b"[1, 2]", ("the request must be a JSON object", "not a list")),
    Bad("a string", b'"wan2.7-t2v"', ("must be a JSON object", "not a string")),
    Bad("a number", b"5", ("must be a JSON object", "not a number")),
    Bad("null", b"null", ("must be a JSON object", "not null")),
    Bad("true", b"true", ("must be a JSON object", "not true/false")),
]


def one_line(message: str) -> None:
    assert "\n" not in message and "\r" not in message
    assert message.isprintable(), message
    message.encode("utf-8")  # no surrogate left: it can be printed anywhere


# -- the reader ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_FILES, ids=lambda b: b.label)
def test_the_reader_names_the_file_and_the_problem(bad: Bad, tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_bytes(bad.content)
    with pytest.raises(JsonFileError) as caught:
        read_request_file(path)
    message = str(caught.value)
    one_line(message)
    assert message.startswith(f"{path}: ")
    for words in bad.words:
        assert words in message


def test_a_valid_request_comes_back_as_a_dict(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(VALID), "utf-8")
    assert read_request_file(path) == VALID
    assert read_request_file(str(path)) == VALID


def test_a_missing_file_and_a_folder(tmp_path: Path) -> None:
    with pytest.raises(JsonFileError, match=r"nope\.json: no such file$"):
        read_request_file(tmp_path / "nope.json")
    with pytest.raises(JsonFileError, match=r"cannot read it \(IsADirectoryError: Is a directory\)"):
        read_request_file(tmp_path)


def test_a_huge_file_is_refused_by_its_size_before_it_is_read(tmp_path: Path) -> None:
    """A sparse file past the cap: refused from its size alone, so this costs nothing."""
    path = tmp_path / "huge.json"
    with path.open("wb") as file:
        file.truncate(MAX_JSON_BYTES + 1)
    with pytest.raises(JsonFileError, match=r"too large to be a request: it is 128 MB; the limit is 128 MB"):
        read_request_file(path)


def test_the_cap_holds_for_stdin_and_for_files_that_report_no_size(tmp_path: Path) -> None:
    with pytest.raises(JsonFileError, match=r"^stdin: too large to be a request: it is larger; the limit is 10 bytes"):
        read_request_file("-", stdin=io.BytesIO(b" " * 11), max_bytes=10)
    small = tmp_path / "s.json"
    small.write_text(json.dumps(VALID), "utf-8")
    with pytest.raises(JsonFileError, match="the limit is 10 bytes"):
        read_request_file(small, max_bytes=10)


def test_stdin_is_read_as_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bad bytes on stdin are named, never turned into surrogates by a locale's decoding."""
    assert read_request_file("-", stdin=io.BytesIO(json.dumps(VALID).encode())) == VALID
    with pytest.raises(JsonFileError, match=r"^stdin: cannot read it: byte 0xff at offset 2"):
        read_request_file("-", stdin=io.BytesIO(b'{"\xff": 1}'))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(VALID).encode())))
    assert read_request_file("-") == VALID


def test_escaped_lone_surrogates_are_kept_for_the_request_check(tmp_path: Path) -> None:
    """Valid JSON escapes: the value comes back, and validate names the path that holds one."""
    path = tmp_path / "r.json"
    path.write_bytes(b'{"model": "wan2.7-t2v", "input": {"prompt": "a \\ud800 b"}}')
    assert read_request_file(path)["input"]["prompt"] == "a \ud800 b"


def test_a_file_name_no_terminal_can_print_still_makes_one_line(tmp_path: Path) -> None:
    name = os.fsdecode(b"bad\xff\nname.json")  # an undecodable byte and a line break
    with pytest.raises(JsonFileError) as caught:
        read_request_file(tmp_path / name)
    message = str(caught.value)
    one_line(message)
    assert message.endswith("bad\\udcff\\nname.json: no such file")


def test_other_documents_are_read_the_same_way(tmp_path: Path) -> None:
    """Profile files go through the same reader, under their own label."""
    path = tmp_path / "p.json"
    path.write_bytes(b"[]")
    assert read_json_file(path, label="profile file 'p.json'") == []
    path.write_bytes(b"")
    with pytest.raises(JsonFileError, match=r"^profile file 'p\.json': the file is empty; it should hold a profile"):
        read_json_file(path, label="profile file 'p.json'", what="a profile")


def test_depth_is_measured_without_recursion() -> None:
    deep: Any = "leaf"
    for _ in range(50_000):
        deep = [deep]
    assert depth_exceeds(deep, 100)
    assert not depth_exceeds({"input": {"media": [{"url": "u"}]}}, 5)
    assert depth_exceeds({"input": {"media": [{"url": "u"}]}}, 4)
    assert decode_json(b'{"a": [1]}', "x") == {"a": [1]}


# -- validate -----------------------------------------------------------------------------------


@dataclass
class Ran:
    code: int
    out: str
    err: str


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> Ran:
    code = main(["validate", *args])
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err)


@pytest.mark.parametrize("bad", BAD_FILES, ids=lambda b: b.label)
def test_validate_gives_exit_1_and_one_line_per_bad_file(
    bad: Bad, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "request.json"
    path.write_bytes(bad.content)
    ran = validate(capsys, str(path))
    assert ran.code == 1
    assert ran.out == ""
    lines = ran.err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {path}: ")
    for words in bad.words:
        assert words in lines[0]


@pytest.mark.parametrize("content", [b"", b"\x00{", b"[1]", b'{"a": ' + b"9" * 5000 + b"}"])
def test_validate_reads_stdin_with_the_same_reader(
    content: bytes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(content)))
    ran = validate(capsys, "-")
    assert ran.code == 1
    lines = ran.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: stdin: "), lines


def test_validate_names_a_missing_file_a_folder_and_a_huge_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as file:
        file.truncate(2 * MAX_JSON_BYTES)
    for target, words in ((tmp_path / "nope.json", "no such file"), (tmp_path, "IsADirectoryError"),
                          (huge, "too large to be a request")):
        ran = validate(capsys, str(target))
        assert ran.code == 1
        lines = ran.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {target}: "), lines
        assert words in lines[0]


def test_validate_still_names_the_json_path_of_an_escaped_surrogate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.json"
    path.write_bytes(b'{"model": "wan2.7-t2v", "input": {"prompt": "a \\ud800 b"}}')
    ran = validate(capsys, str(path))
    assert ran.code == 1
    assert ran.err.startswith("input.prompt: holds an unpaired surrogate")


def test_a_real_process_prints_an_unprintable_file_name_on_one_line(tmp_path: Path) -> None:
    """Through the real stderr: a name with a line break and an undecodable byte."""
    path = tmp_path / os.fsdecode(b"bad\xff\nname.json")
    path.write_bytes(b"[1, 2]")
    done = subprocess.run([sys.executable, "-m", "playground", "validate", str(path)], cwd=ROOT,
                          capture_output=True, timeout=120, check=False)
    err = done.stderr.decode("utf-8")
    assert done.returncode == 1, err
    assert "Traceback" not in err
    assert err.splitlines() == [f"error: {tmp_path}/bad\\udcff\\nname.json: the request must be a JSON object "
                                '({"model": ..., "input": {...}}), not a list']


@pytest.mark.parametrize("content", [b"[" * 100_000 + b"]" * 100_000, b"\x89PNG\r\n\x1a\n\x00\x00", b"[1, 2]", b""],
                         ids=["deep", "binary", "not-an-object", "empty"])
def test_submit_reads_files_like_validate(tmp_path: Path, content: bytes) -> None:
    """`submit` used its own reader: deep nesting printed a RecursionError traceback."""
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    done = subprocess.run([sys.executable, "-m", "playground", "submit", str(bad), "--data-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "bad.json" in lines[0], done.stderr
