"""Fixtures that serve the sandbox over real loopback HTTP (owned by the sandbox issue).

Stable for other test modules:

* ``sandbox_server`` (session): the root URL of one shared sandbox, e.g.
  ``http://127.0.0.1:41234``; the sandbox itself is at ``{root}/sandbox`` (DashScope at
  ``/sandbox/api/v1``, the gateway at ``/sandbox/v1``, files at ``/sandbox/files``). It runs
  in a thread with uvicorn, 2 render workers, a temporary data dir and delay scale
  ``SHARED_DELAY_SCALE`` (0.02): a normal task queues ~60 ms and runs ~0.2 s plus rendering;
  a ``slow`` one stays PENDING ~0.9 s, long enough to cancel it.
* ``sandbox_url``: the same root URL; ``sandbox_base``: ``{root}/sandbox``.
* ``sandbox_data_dir``: the shared sandbox's data dir (its files are under ``sandbox/``).
* ``start_sandbox``: a factory for a private sandbox with other settings, e.g.
  ``start_sandbox(ttl_s=1.0, sweep_interval_s=0.2)``; returns its root URL and stops it after
  the test.

Expiry is tested without waiting for a TTL: pass ``clock=MovableClock()`` to ``start_sandbox``
(or ``sandbox_config``) and ``advance()`` it past the TTL.

Use a fresh API key per test (``fresh_key``) when counting scenarios matter: the scenario
counters are per key. ``sandbox_media`` holds small sample files and their upload URLs;
``auth``, ``upload``, ``wait_dashscope``, ``wait_gateway`` and ``download`` are plain helpers.
The file store keeps only real media (checked by content), so a test that needs "some file"
uploads ``png_bytes()``, a small valid PNG, rather than arbitrary bytes.
"""

from __future__ import annotations

import contextlib
import io
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from playground.core.profile import load_profile
from playground.media.samples import make_audio, make_image, make_video, picture
from playground.sandbox import SandboxConfig, serve_in_thread, standalone_app

SHARED_DELAY_SCALE = 0.02


def sandbox_config(data_dir: Path, **overrides: Any) -> SandboxConfig:
    values: dict[str, Any] = {"data_dir": data_dir, "profile": load_profile(), "delay_scale": SHARED_DELAY_SCALE}
    values.update(overrides)
    return SandboxConfig(**values)


@pytest.fixture(scope="session")
def sandbox_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox-data")


@pytest.fixture(scope="session")
def sandbox_server(sandbox_data_dir: Path) -> Iterator[str]:
    """The root URL of a sandbox shared by the whole test session."""
    with serve_in_thread(standalone_app(sandbox_config(sandbox_data_dir))) as url:
        yield url


@pytest.fixture(scope="session")
def sandbox_url(sandbox_server: str) -> str:
    return sandbox_server


@pytest.fixture(scope="session")
def sandbox_base(sandbox_server: str) -> str:
    return f"{sandbox_server}/sandbox"


@pytest.fixture
def start_sandbox(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start private sandboxes with SandboxConfig overrides; each is stopped after the test."""
    with contextlib.ExitStack() as stack:

        def start(**overrides: Any) -> str:
            data_dir = tmp_path / f"sandbox-{secrets.token_hex(3)}"
            config = sandbox_config(data_dir, **overrides)
            return stack.enter_context(serve_in_thread(standalone_app(config)))

        yield start


@pytest.fixture
def fresh_key() -> str:
    """An API key no other test has used, so per-key scenario counters start at zero."""
    return f"sk-test-{secrets.token_hex(6)}"


class MovableClock:
    """A sandbox clock that follows the wall clock, plus however far a test moved it on."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset_s

    def advance(self, seconds: float) -> None:
        self.offset_s += seconds


# -- media and helpers shared by the sandbox tests ------------------------------------------

KEY = "sk-test-sandbox"
FINAL_DASHSCOPE = {"SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN"}
FINAL_GATEWAY = {"completed", "failed"}


def auth(key: str = KEY, scenario: str | None = None, **extra: str) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}", **extra}
    if scenario is not None:
        headers["X-Sandbox-Scenario"] = scenario
    return headers


def dashscope_headers(key: str = KEY, scenario: str | None = None) -> dict[str, str]:
    return auth(key, scenario, **{"X-DashScope-Async": "enable"})


def png_bytes(width: int = 320, height: int = 240, seed: int = 0) -> bytes:
    """A small valid PNG, for tests that need an upload the store accepts."""
    out = io.BytesIO()
    picture(width, height, seed).save(out, format="PNG")
    return out.getvalue()


def upload(client: httpx.Client, base: str, path: Path, key: str = KEY) -> str:
    """Put a file in the sandbox's store; its URL, for a request's media item."""
    with path.open("rb") as handle:
        answer = client.post(f"{base}/v1/files", files={"file": (path.name, handle)}, headers=auth(key))
    assert answer.status_code == 200, answer.text
    url: str = answer.json()["url"]
    return url


def wait_dashscope(
    client: httpx.Client, base: str, task_id: str, key: str = KEY, timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(f"{base}/api/v1/tasks/{task_id}", headers=auth(key))
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if body["output"]["task_status"] in FINAL_DASHSCOPE or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def wait_gateway(
    client: httpx.Client, base: str, task_id: str, key: str = KEY, timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(f"{base}/v1/videos/generations/{task_id}", headers=auth(key))
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if body["status"] in FINAL_GATEWAY or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def download(client: httpx.Client, url: str, target: Path) -> Path:
    answer = client.get(url)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "video/mp4"
    target.write_bytes(answer.content)
    return target


@dataclass(frozen=True)
class SampleMedia:
    """Small local files, and the URLs of their uploads to the shared sandbox."""

    files: dict[str, Path]
    urls: dict[str, str]


@pytest.fixture(scope="session")
def sandbox_media(sandbox_base: str, tmp_path_factory: pytest.TempPathFactory) -> SampleMedia:
    """A wide and a tall picture, a last frame, two references, two clips and a tone."""
    folder = tmp_path_factory.mktemp("sandbox-media")
    files = {
        "wide": make_image(folder / "wide.png", 800, 450, seed=1),
        "tall": make_image(folder / "tall.jpg", 480, 854, seed=2),
        "last": make_image(folder / "last.png", 800, 450, seed=3),
        "ref_a": make_image(folder / "ref_a.png", 512, 512, seed=4),
        "ref_b": make_image(folder / "ref_b.webp", 600, 400, seed=5),
        "clip": make_video(folder / "clip.mp4", 640, 360, 2.5, seed=6),
        "portrait": make_video(folder / "portrait.mp4", 360, 640, 2.0, seed=7),
        "tone": make_audio(folder / "tone.wav", 3.0),
    }
    with httpx.Client(timeout=30) as client:
        urls = {name: upload(client, sandbox_base, path) for name, path in files.items()}
    return SampleMedia(files, urls)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as http:
        yield http
