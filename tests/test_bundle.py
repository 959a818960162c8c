"""Run bundles: every part in the zip, runnable scripts inside, and no key anywhere."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from playground.client.bundle import write_bundle
from playground.core.snippets import wire_json

CANARY = "sk-canary-7f3a9c"
# A key JSON would escape: scrubbing must happen before the text is serialised.
ODD_SECRET = 'tok"en\\with-quote'
UNLISTED = "sk-unlisted9876543210"
BODY: dict[str, Any] = {
    "model": "wan2.7-t2v",
    "input": {"prompt": "A lighthouse at dusk"},
    "parameters": {"resolution": "720P", "duration": 5},
}
NAMES = {
    "README.txt", "run.json", "request.json", "wire.json", "responses.json", "timeline.json", "guidance.txt",
    "cost.json", "snippets/create_video.sh", "snippets/create_video.py", "snippets/create_video.js",
}


def _record(**extra: Any) -> dict[str, Any]:
    return {
        "run_id": "run-42", "provider": "sandbox", "wire": "dashscope", "base_url": "http://127.0.0.1:7860/sandbox",
        "task_id": "task-9", "state": "succeeded", **extra,
    }


def _write(path: Path, video: Path | None, **overrides: Any) -> Path:
    values: dict[str, Any] = {
        "record": _record(),
        "request": {"mode": "text-to-video", "prompt": "A lighthouse at dusk", "duration": 5},
        "wire_body": BODY,
        "responses": [{"request_id": "r-1", "output": {"task_id": "task-9", "task_status": "PENDING"}}],
        "timeline": [("submitting", "10:00:00"), ("queued", "10:00:01"), ("succeeded", "10:01:10")],
        "guidance": [],
        "video": video,
        "secrets": [CANARY],
    }
    values.update(overrides)
    return write_bundle(path, **values)


@pytest.fixture
def video(tmp_path: Path) -> Path:
    path = tmp_path / "result.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 4)
    return path


def test_a_bundle_holds_every_part(tmp_path: Path, video: Path) -> None:
    """Each file is present and readable; the video is stored unchanged and uncompressed."""
    path = _write(tmp_path / "bundles" / "run-42.zip", video)
    assert path == tmp_path / "bundles" / "run-42.zip"
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == NAMES | {"video.mp4"}
        assert archive.read("video.mp4") == video.read_bytes()
        assert archive.getinfo("video.mp4").compress_type == zipfile.ZIP_STORED
        assert archive.read("wire.json").decode() == wire_json(BODY) + "\n"
        assert json.loads(archive.read("run.json"))["task_id"] == "task-9"
        assert json.loads(archive.read("request.json"))["mode"] == "text-to-video"
        assert json.loads(archive.read("responses.json"))[0]["output"]["task_status"] == "PENDING"
        assert json.loads(archive.read("timeline.json"))[2] == {"state": "succeeded", "at": "10:01:10"}
        readme = archive.read("README.txt").decode()
        assert "task-9" in readme and "video.mp4        the generated video" in readme
        script = archive.read("snippets/create_video.py").decode()
    # The scripts point at the run's provider: the sandbox's DashScope surface.
    assert 'BASE_URL = "http://127.0.0.1:7860/sandbox/api/v1"' in script
    assert not [p for p in path.parent.iterdir() if p != path]  # no temporary file left behind


def test_every_planted_key_is_scrubbed_from_every_file(tmp_path: Path, video: Path) -> None:
    """Listed keys, bearer tokens and sk- keys go, wherever they hide: values, keys, JSON text."""
    path = _write(
        tmp_path / "b.zip",
        video,
        record=_record(
            error_text=f"401 InvalidApiKey for {CANARY}",
            last_response=json.dumps({"message": f"key {ODD_SECRET} refused"}),
        ),
        request={"mode": "text-to-video", "prompt": f"my key is {CANARY}"},
        wire_body={**BODY, "input": {"prompt": f"say {CANARY}", CANARY: 1}},
        responses=[
            {"code": "InvalidApiKey", "message": f"Invalid API-key provided: {CANARY}"},
            {"echo": {"headers": {"Authorization": f"Bearer {UNLISTED}"}}},
            {"note": f"leaked {UNLISTED} and {ODD_SECRET}"},
        ],
        timeline=[("failed", f"10:00 {CANARY}")],
        guidance=["The key was refused.", f"Check {CANARY}", f"Authorization: Bearer {UNLISTED}"],
        secrets=[CANARY, ODD_SECRET],
    )
    with zipfile.ZipFile(path) as archive:
        texts = {name: archive.read(name).decode() for name in archive.namelist() if name != "video.mp4"}
    escaped = json.dumps(ODD_SECRET)[1:-1]
    for name, text in texts.items():
        for secret in (CANARY, UNLISTED, ODD_SECRET, escaped):
            assert secret not in text, (name, secret)
    stored = json.loads(json.loads(texts["run.json"])["last_response"])
    assert ODD_SECRET not in stored["message"]
    for name in ("run.json", "request.json", "wire.json", "responses.json", "timeline.json", "guidance.txt"):
        assert "[redacted" in texts[name], name
    # The scripts survive the scrubbing: their key placeholder is intact.
    assert 'Bearer ${DASHSCOPE_API_KEY}' in texts["snippets/create_video.sh"]
    assert 'f"Bearer {api_key}"' in texts["snippets/create_video.py"]


@pytest.mark.parametrize("missing", [None, "gone.mp4"])
def test_a_bundle_without_a_video_says_so(tmp_path: Path, missing: str | None) -> None:
    """No video, or a path that no longer exists: the bundle is written and promises no video."""
    path = _write(tmp_path / "b.zip", tmp_path / missing if missing else None, request=None, guidance=["x"])
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == NAMES
        assert "video.mp4" not in archive.read("README.txt").decode()
        assert json.loads(archive.read("request.json")) is None


def test_a_bundle_with_a_bare_record_still_has_runnable_scripts(tmp_path: Path) -> None:
    """Without provider facts the scripts take the format from the body and a placeholder host."""
    gateway = {"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "p"}}
    path = write_bundle(tmp_path / "b.zip", record={"run_id": "r"}, request=None, wire_body=gateway, responses=[],
                        timeline=[], guidance=[], video=None, secrets=[])
    with zipfile.ZipFile(path) as archive:
        script = archive.read("snippets/create_video.sh").decode()
    assert "GATEWAY_API_KEY" in script and "/videos/generations" in script
    shell = tmp_path / "s.sh"
    shell.write_text(script, "utf-8")
    assert subprocess.run(["bash", "-n", str(shell)], capture_output=True).returncode == 0


def test_writing_again_replaces_the_bundle(tmp_path: Path, video: Path) -> None:
    path = _write(tmp_path / "b.zip", video)
    _write(path, None)
    with zipfile.ZipFile(path) as archive:
        assert "video.mp4" not in archive.namelist()
