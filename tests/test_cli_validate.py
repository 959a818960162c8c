"""`python -m playground validate` and `schema`, run as real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "playground", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write(tmp_path: Path, content: str) -> str:
    path = tmp_path / "req.json"
    path.write_text(content)
    return str(path)


def test_valid_request_prints_normalised_and_exits_0(tmp_path: Path) -> None:
    """A valid gateway request prints itself; --format dashscope prints the native body."""
    body = {"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "p", "duration": 5}}
    path = write(tmp_path, json.dumps(body))
    same = cli("validate", path)
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout) == body
    native = cli("validate", path, "--format", "dashscope")
    assert native.returncode == 0
    assert json.loads(native.stdout) == {"model": "wan2.7-t2v", "input": {"prompt": "p"}, "parameters": {"duration": 5}}


def test_invalid_request_lists_each_problem(tmp_path: Path) -> None:
    """Invalid: exit 1, one line per problem with path, reason and fix, no traceback."""
    body = {
        "model": "wan-2-7-video",
        "mode": "reference-to-video",
        "input": {
            "prompt": "p",
            "duration": 12,
            "seed": -4,
            "media": [{"type": "reference_video", "url": "https://e.com/v.mp4"}],
        },
    }
    result = cli("validate", write(tmp_path, json.dumps(body)))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert (
        "input.duration: 12 is above 10, the maximum for reference-to-video with a reference video; use 2-10" in lines
    )
    assert any(line.startswith("input.seed: ") for line in lines)
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not valid JSON at line 1"),
        ("", "empty"),
        ("   \n", "empty"),
        ("[1, 2]", "JSON object"),
        ('{"model": "wan-2-7-video", "mode": "karaoke", "input": {}}', "mode: 'karaoke' is not a mode"),
        (
            '{"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": 5}}',
            "input.prompt: must be a string",
        ),
    ],
)
def test_garbage_gets_one_clear_line(tmp_path: Path, content: str, words: str) -> None:
    """Malformed JSON, empty files, unknown modes and wrong types: exit 1 and a message, never a traceback."""
    result = cli("validate", write(tmp_path, content))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert words in result.stderr
    assert len(result.stderr.strip().splitlines()) >= 1


def test_binary_file(tmp_path: Path) -> None:
    """A file that is not text says so."""
    path = tmp_path / "req.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    result = cli("validate", str(path))
    assert result.returncode == 1 and "cannot read it" in result.stderr and "Traceback" not in result.stderr


def test_missing_file_and_bad_profile(tmp_path: Path) -> None:
    """A file that is not there, or a profile that does not exist, is one line and exit 1."""
    missing = cli("validate", str(tmp_path / "nope.json"))
    assert missing.returncode == 1 and "no such file" in missing.stderr
    body = write(tmp_path, '{"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "p"}}')
    bad = cli("validate", body, "--profile", "nope")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "no built-in profile" in bad.stderr


def test_guide_page_profile_from_the_command_line(tmp_path: Path) -> None:
    """--profile guide-page applies the stricter table."""
    body = write(
        tmp_path, '{"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "p", "duration": 5}}'
    )
    result = cli("validate", body, "--profile", "guide-page")
    assert result.returncode == 1
    assert "input.duration: 5 is not allowed for text-to-video in profile guide-page; use 6 or 10" in result.stderr


def test_stdin(tmp_path: Path) -> None:
    result = cli("validate", "-", stdin='{"model":"wan2.7-t2v","input":{"prompt":"p"}}')
    assert result.returncode == 0 and json.loads(result.stdout)["model"] == "wan2.7-t2v"


def test_schema_command() -> None:
    """schema prints a JSON Schema for one mode or all four."""
    one = cli("schema", "video-edit")
    assert one.returncode == 0
    assert json.loads(one.stdout)["properties"]["mode"] == {"const": "video-edit"}
    every = cli("schema", "--format", "dashscope")
    assert len(json.loads(every.stdout)["oneOf"]) == 4
