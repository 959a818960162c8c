"""The run bundle: every part present, the video stored, and no key anywhere in it."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from playground.client.bundle import write_bundle

KEY = "sk-live-0123456789abcdef"


def test_a_bundle_holds_every_part_and_no_key(tmp_path: Path) -> None:
    """Request, body, answers, timeline, guidance and video; the key is scrubbed from all of them."""
    video = tmp_path / "video.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 32)
    record = {"run_id": "run-1", "task_id": "t-1", "provider": "dashscope", "wire": "dashscope",
              "base_url": "https://h/api/v1", "state": "failed", "submit_request_id": "r-1", "note": f"key {KEY}"}
    path = write_bundle(
        tmp_path / "out" / "run-1.zip", record=record, request={"mode": "text-to-video", "prompt": "x"},
        wire_body={"model": "wan2.7-t2v", "input": {"prompt": "x"}},
        responses=[{"output": {"task_status": "FAILED", "message": f"Bearer {KEY}"}}],
        timeline=[("submitting", "10:00:00"), ("failed", "10:00:05")], guidance=["Task failed", f"echo {KEY}"],
        video=video, secrets=[KEY],
    )
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        scripts = {n for n in names if n.startswith("snippets/")}
        assert names - scripts == {"README.txt", "run.json", "request.json", "wire.json", "responses.json",
                                   "timeline.json", "guidance.txt", "cost.json", "video.mp4"}
        assert len(scripts) == 3
        for name in names - {"video.mp4"}:
            assert KEY not in archive.read(name).decode(), name
        assert archive.getinfo("video.mp4").compress_type == zipfile.ZIP_STORED
        assert json.loads(archive.read("timeline.json"))[1] == {"state": "failed", "at": "10:00:05"}
        assert "t-1" in archive.read("README.txt").decode()
    assert not list(path.parent.glob(".*.part"))


def test_a_bundle_without_a_video_says_so(tmp_path: Path) -> None:
    """A run that never produced a video still bundles; the README does not promise one."""
    path = write_bundle(tmp_path / "b.zip", record={"run_id": "r"}, request=None, wire_body={}, responses=[],
                        timeline=[], guidance=[], video=tmp_path / "missing.mp4")
    with zipfile.ZipFile(path) as archive:
        assert "video.mp4" not in archive.namelist()
        assert "video.mp4" not in archive.read("README.txt").decode()
