"""The sandbox runs alone from the command line, mounted anywhere, and describes itself."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from playground.core.profile import load_profile
from playground.sandbox import SandboxConfig, create_sandbox, serve_in_thread
from tests.fixtures_sandbox import auth, dashscope_headers, png_bytes, wait_dashscope

PNG = png_bytes()  # the store takes only real media (checked by content)

ROOT = Path(__file__).resolve().parents[1]
T2V = {"model": "wan2.7-t2v", "input": {"prompt": "cli"}, "parameters": {"resolution": "720P", "duration": 2}}


@pytest.fixture
def cli_sandbox(tmp_path: Path) -> Iterator[str]:
    """`python -m playground sandbox --port 0 --delay-scale 0`, until the test ends."""
    env = {**os.environ, "PLAYGROUND_SANDBOX_DELAY_SCALE": "5"}  # the flag must win over this
    process = subprocess.Popen(
        [sys.executable, "-m", "playground", "sandbox", "--port", "0", "--delay-scale", "0",
         "--data-dir", str(tmp_path)],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
    )
    assert process.stderr is not None
    seen = []
    try:
        for line in process.stderr:
            seen.append(line)
            found = re.search(r"Uvicorn running on (http://\S+)", line)
            if found:
                yield found.group(1)
                break
        else:
            pytest.fail("the sandbox did not start: " + "".join(seen))
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=15)


def test_the_command_line_serves_it_under_sandbox(client: httpx.Client, cli_sandbox: str) -> None:
    assert client.get(f"{cli_sandbox}/healthz").json() == {"status": "ok"}
    base = f"{cli_sandbox}/sandbox"
    task_id = client.post(f"{base}/api/v1/services/aigc/video-generation/video-synthesis", json=T2V,
                          headers=dashscope_headers()).json()["output"]["task_id"]
    output = wait_dashscope(client, base, task_id)["output"]
    assert output["task_status"] == "SUCCEEDED"
    assert output["video_url"].startswith(f"{base}/files/results/")
    assert client.get(output["video_url"]).status_code == 200


def test_the_openapi_document_lists_every_route(client: httpx.Client, sandbox_base: str) -> None:
    document = client.get(f"{sandbox_base}/openapi.json").json()
    assert document["servers"] == [{"url": "/sandbox"}]
    assert {
        "/api/v1/services/aigc/video-generation/video-synthesis", "/api/v1/tasks/{task_id}",
        "/api/v1/tasks/{task_id}/cancel", "/api/v1/tasks", "/api/v1/uploads", "/v1/videos/generations",
        "/v1/videos/generations/{task_id}", "/v1/files", "/files/{kind}/{file_id}/{name}", "/oss",
    } <= set(document["paths"])
    create = document["paths"]["/v1/videos/generations"]["post"]
    assert "oneOf" in create["requestBody"]["content"]["application/json"]["schema"]
    assert "GatewayError" in create["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]


def test_urls_follow_the_mount_or_the_public_url(client: httpx.Client, tmp_path: Path) -> None:
    """Result URLs are built from where the sandbox is mounted, or from public_base_url."""
    for public in (None, "https://demo.example.com/tools/sandbox"):
        config = SandboxConfig(data_dir=tmp_path / str(bool(public)), profile=load_profile(), delay_scale=0.0,
                               public_base_url=public)
        parent = FastAPI()
        parent.mount("/deep/sandbox", create_sandbox(config))
        with serve_in_thread(parent) as root:
            base = f"{root}/deep/sandbox"
            stored = client.post(f"{base}/v1/files", files={"file": ("a.png", PNG)}, headers=auth()).json()
            expected = public or base
            assert stored["url"].startswith(f"{expected}/files/uploads/")
            if public is None:
                assert client.get(stored["url"]).content == PNG
            policy = client.get(f"{base}/api/v1/uploads?action=getPolicy&model=m", headers=auth()).json()
            assert policy["data"]["upload_host"] == f"{expected}/oss"
