"""``python -m playground validate`` on nasty files, run as real subprocesses.

Files that are not text, not JSON, not UTF-8, nested past the recursion limit, numbers past
Python's digit limit, unpaired surrogates, control characters, huge strings, every field of
the wrong type; missing files, directories, stdin, a lying profile and a bad option. Each
must end with exit 1 (2 for a usage error) and lines that name the file or the JSON path at
fault, never a traceback. The subprocesses run two at a time: the machine has two cores and
each one spends most of its ~0.6 s importing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from playground.media.samples import make_image

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Nasty:
    """One run of the validator: the file's bytes (None: no file is written), the extra
    arguments, the exit code and the words expected on stderr."""

    label: str
    content: bytes | None
    words: tuple[str, ...]
    args: tuple[str, ...] = ()
    code: int = 1
    stdin: bytes | None = None
    extra: dict[str, bytes] = field(default_factory=dict)


def body(value: object) -> bytes:
    return json.dumps(value).encode()


WRONG_EVERYWHERE = {
    "model": "wan2.7-t2v",
    "input": {"prompt": ["a", "b"], "negative_prompt": {"x": 1}, "audio_url": 5},
    "parameters": {"duration": "5", "resolution": 720, "ratio": True, "seed": 1.5, "watermark": "yes",
                   "prompt_extend": None},
}
CASES = [
    Nasty("0-byte file", b"", ("the file is empty",)),
    Nasty("only whitespace", b" \n\t\r\n", ("the file is empty",)),
    Nasty("a PNG named .json", None, ("cannot read it", "byte 0x89 at offset 0 is not UTF-8"), extra={"png": b""}),
    Nasty("UTF-16 text", '{"model": "wan2.7-t2v"}'.encode("utf-16"), ("cannot read it", "UTF-16")),
    Nasty("UTF-8 BOM", b'\xef\xbb\xbf{"model": "wan2.7-t2v", "input": {"prompt": "p"}}', ("byte-order mark",)),
    Nasty("NUL bytes", b"\x00" * 100, ("NUL byte at offset 0",)),
    Nasty("truncated JSON", b'{"model": "wan2.7-t2v", "input": {"pro', ("not valid JSON at line 1",)),
    Nasty("nested 100 000 deep", b"[" * 100_000 + b"]" * 100_000, ("JSON that cannot be read: nested too deeply",)),
    Nasty("nested 500 deep, within Python's limit", b'{"model": "wan2.7-t2v", "input": {"prompt": '
          + b"[" * 500 + b"]" * 500 + b"}}", ("levels deep",)),
    Nasty("a 5000-digit seed", b'{"model": "wan2.7-t2v", "input": {"prompt": "p"}, "parameters": {"seed": '
          + b"9" * 5000 + b"}}", ("JSON that cannot be read", "digits")),
    Nasty("NaN and Infinity", b'{"model": "wan2.7-t2v", "input": {"prompt": "p"}, '
          b'"parameters": {"duration": NaN, "seed": Infinity}}', ("parameters.duration: ", "parameters.seed: ")),
    Nasty("unpaired surrogate in the prompt", b'{"model": "wan2.7-t2v", "input": {"prompt": "a \\ud800 b"}}',
          ("input.prompt: holds an unpaired surrogate",)),
    Nasty("unpaired surrogate in a key", b'{"model": "wan-2-7-video", "mode": "text-to-video", '
          b'"input": {"prompt": "p", "\\udc00": 1}}', ("input.\\udc00: this key holds an unpaired surrogate",)),
    Nasty("control characters in a choice", body({"model": "wan2.7-t2v", "input": {"prompt": "p"},
                                                  "parameters": {"resolution": "720P\x00\x1b[2J"}}),
          ("parameters.resolution: '720P\\x00\\x1b[2J' is not a resolution",)),
    Nasty("a 3 MB prompt and a 99 s duration", body({"model": "wan-2-7-video", "mode": "text-to-video",
                                                     "input": {"prompt": "x" * 3_000_000, "duration": 99}}),
          ("input.duration: 99 is above 15", "input.prompt: 3000000 characters")),
    Nasty("a huge unknown value", body({"model": "wan-2-7-video", "mode": "text-to-video",
                                       "input": {"prompt": "p", "resolution": "y" * 1_000_000}}),
          ("input.resolution: 'yyyy",)),
    Nasty("a list, not an object", b"[1, 2, 3]", ("the request must be a JSON object", "not a list")),
    Nasty("every field the wrong type", body(WRONG_EVERYWHERE),
          ("input.prompt: ", "input.negative_prompt: ", "input.audio_url: ", "parameters.duration: ",
           "parameters.resolution: ", "parameters.ratio: ", "parameters.seed: ", "parameters.watermark: ")),
    Nasty("unknown keys at every level", body({"model": "wan-2-7-video", "mode": "video-edit", "colour": 1,
                                               "input": {"prompt": "p", "speed": 2, "media": [
                                                   {"type": "video", "url": "https://e.com/v.mp4", "fps": 9}]}}),
          ("colour: unknown field", "input.speed: unknown field", "input.media[0].fps: unknown field")),
    Nasty("a directory", None, ("cannot read it", "IsADirectoryError"), args=("{dir}",)),
    Nasty("a missing file", None, ("no such file",), args=("{missing}",)),
    Nasty("garbage on stdin", None, ("stdin: not JSON text",), args=("-",), stdin=b"\x00{garbage"),
    Nasty("bad bytes on stdin", None, ("stdin: cannot read it: byte 0xff",), args=("-",), stdin=b'{"\xff": 1}'),
    Nasty("a PNG as the profile", body({"model": "wan2.7-t2v", "input": {"prompt": "p"}}),
          ("profile file", "is not UTF-8"), args=("--profile", "{png}")),
    Nasty("an unknown output format", body({"model": "wan2.7-t2v", "input": {"prompt": "p"}}),
          ("argument --format: invalid choice: 'xml'",), args=("--format", "xml"), code=2),
]
# A problem line names its JSON path first; a file-level line starts with "error: ".
LINE = re.compile(r"^(error: .+|[\w$.\[\]\\()-]+: .+)$")


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every case run once, two subprocesses at a time."""
    folder = tmp_path_factory.mktemp("nasty")
    png = make_image(folder / "picture.png", 64, 64)
    places = {"dir": str(folder), "missing": str(folder / "nope.json"), "png": str(png)}

    def run(index: int, case: Nasty) -> Outcome:
        target = folder / f"case-{index}.json"
        if case.content is not None:
            target.write_bytes(case.content)
        elif "png" in case.extra:
            target.write_bytes(png.read_bytes())
        args = [a.format(**places) for a in case.args]
        if not args or args[0].startswith("--"):
            args = [str(target), *args]
        done = subprocess.run([sys.executable, "-m", "playground", "validate", *args], cwd=ROOT, input=case.stdin,
                              capture_output=True, timeout=120, check=False)
        return Outcome(done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"))

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {case.label: pool.submit(run, i, case) for i, case in enumerate(CASES)}
        return {label: future.result() for label, future in futures.items()}


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_a_nasty_file_gets_lines_naming_the_fault(case: Nasty, outcomes: dict[str, Outcome]) -> None:
    result = outcomes[case.label]
    assert result.code == case.code, (result.code, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.stdout == "" or case.code != 1, result.stdout[:500]
    for words in case.words:
        assert words in result.stderr, (words, result.stderr[:2000])
    if case.code == 1:
        lines = result.stderr.strip().splitlines()
        assert lines and all(LINE.match(line) for line in lines), lines[:10]
        assert max(len(line) for line in lines) < 2000, "a huge value is cut short, never echoed whole"


def test_the_count_of_bad_inputs(outcomes: dict[str, Outcome]) -> None:
    """The figure the README reports: nasty files (and arguments) given to the validator."""
    print("cli bad inputs:", len(outcomes))
    assert len(outcomes) >= 20
