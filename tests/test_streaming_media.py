"""Media is streamed end to end: no attach, upload, download or probe holds a whole file in memory.

A real 40 MiB video (five times :data:`BUDGET`) goes through each path over real loopback HTTP
to the sandbox, which runs in a thread of this process, so its receiving side (the multipart
parser, the store's copy and content sniff) is measured together with the client. While each
path runs, tracemalloc records the peak of Python's allocations; reading the file whole
anywhere (``path.read_bytes()``, ``request.body()``, ``response.content``, a BytesIO copy)
is one allocation the size of the file and fails the budget. :func:`test_the_budget_sees_a_whole_file_read`
shows the measurement is not blind to exactly that.

tracemalloc sees Python's allocations only: FFmpeg's and Pillow's own buffers are not counted.
Those read from the file by path in small blocks (probe.py); the whole server's resident
memory under a 100 MB upload is measured by ``python -m benchmarks bench_upload``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from email.message import Message
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import av
import numpy as np
import pytest

from playground.client.api import VideoClient
from playground.client.attach import attach_file
from playground.client.errors import UploadFailed
from playground.client.providers import ProviderConfig
from playground.client.streamed_form import FileChanged, StreamedForm
from playground.core.profile import load_profile
from playground.media.checks import check_file
from playground.media.probe import probe
from playground.media.samples import make_video
from playground.media.thumbnail import thumbnail_jpeg
from tests.fixtures_client import new_key, sandbox_provider
from tests.fixtures_servers import http_server

pytestmark = pytest.mark.usefixtures("no_backoff")
measured = pytest.mark.usefixtures("warm")

MIB = 1024 * 1024
BUDGET = 8 * MIB  # the most Python may allocate at once while a 40 MiB file goes through a path
PROFILE = load_profile()
EDIT_MODEL = PROFILE.mode("video-edit").dashscope_model


def noise_video(path: Path, frames: int = 76) -> Path:
    """A valid 2.5 s H.264 clip of random noise, encoded lossless: ~40 MiB that cannot compress."""
    rng = np.random.default_rng(17)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30, options={"crf": "0", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for _ in range(frames):
            planes = rng.integers(0, 256, (540, 640), dtype=np.uint8)  # Y, then U and V, stacked
            for packet in stream.encode(av.VideoFrame.from_ndarray(planes, format="yuv420p")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = noise_video(tmp_path_factory.mktemp("big") / "noise.mp4")
    assert path.stat().st_size >= 4 * BUDGET, "the clip must be several times the budget to prove anything"
    return path


@pytest.fixture(scope="module")
def warm(sandbox_base: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every path once with a small clip, unmeasured: a process's first upload imports modules
    and loads tables (about 7 MiB that stay), which is not what the budget is about."""
    folder = tmp_path_factory.mktemp("warm")
    clip = make_video(folder / "small.mp4", 320, 240, 2.0)

    async def every_path() -> None:
        done = await attach_file(sandbox_provider(sandbox_base, "gateway"), clip, limit="video", model=EDIT_MODEL,
                                 profile=PROFILE, loc=("video",))
        assert done.url is not None, done.problems
        async with VideoClient(dashscope_at(sandbox_base)) as video:
            await video.upload(clip, model=EDIT_MODEL)
        async with VideoClient(sandbox_provider(sandbox_base, "gateway")) as video:
            await video.download(done.url, folder / "out.mp4", check=_playable([]))

    asyncio.run(every_path())
    thumbnail_jpeg(clip)


def dashscope_at(sandbox_base: str) -> ProviderConfig:
    """DashScope's contract served by the sandbox: the getPolicy and form-post upload."""
    return ProviderConfig(kind="dashscope", wire="dashscope", base_url=f"{sandbox_base}/api/v1", api_key=new_key())


def _playable(seen: list[Path]) -> Callable[[Path], Awaitable[str | None]]:
    """A download check as the runner's: probe the finished temporary file, before it is renamed."""

    async def playable(candidate: Path) -> str | None:
        seen.append(candidate)
        info = await asyncio.to_thread(probe, candidate)
        return None if info.kind == "video" else "not a video"

    return playable


def digest(path: Path) -> str:
    found = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(MIB):
            found.update(chunk)
    return found.hexdigest()


@contextlib.contextmanager
def python_peak() -> Iterator[list[int]]:
    """The peak of Python's allocations (all threads) while the block runs, in bytes, appended at its end."""
    found: list[int] = []
    gc.collect()
    tracemalloc.start()
    try:
        yield found
    finally:
        found.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


def within_budget(peak: list[int], what: str) -> None:
    assert peak[0] < BUDGET, f"{what} allocated {peak[0] / MIB:.1f} MiB at its peak (budget {BUDGET / MIB:.0f} MiB)"


def stored_copy(sandbox_data_dir: Path, url: str) -> Path:
    """The file the sandbox stored for an upload URL (…/files/uploads/<id>/<name> or an oss:// key)."""
    file_id, name = url.rstrip("/").split("/")[-2:]
    return sandbox_data_dir / "sandbox" / "uploads" / file_id / name


def test_the_budget_sees_a_whole_file_read(big: Path) -> None:
    """The control: reading the clip whole, as the old upload did, is over the budget."""
    with python_peak() as peak:
        held = big.read_bytes()
    assert len(held) == big.stat().st_size
    assert peak[0] >= BUDGET


@measured
def test_attaching_a_large_video_to_the_sandbox_streams_it(big: Path, sandbox_base: str,
                                                           sandbox_data_dir: Path) -> None:
    """Probe, check and upload (the UI's and CLI's attach path) stay in budget; the store has every byte.
    (The gateway format's upload: the sandbox's file store. DashScope's is the temporary upload, below.)"""
    provider = sandbox_provider(sandbox_base, "gateway")
    with python_peak() as peak:
        done = asyncio.run(attach_file(provider, big, limit="video", model=EDIT_MODEL, profile=PROFILE,
                                       loc=("video",), owner="streaming-test"))
    assert done.url is not None, done.problems
    within_budget(peak, "attaching a 40 MiB video")
    assert digest(stored_copy(sandbox_data_dir, done.url)) == digest(big)


@measured
def test_the_temporary_upload_form_post_streams_it(big: Path, sandbox_base: str, sandbox_data_dir: Path) -> None:
    """DashScope's getPolicy and form post to the bucket (here the sandbox's) stay in budget too."""
    async def go() -> str:
        async with VideoClient(dashscope_at(sandbox_base)) as video:
            return await video.upload(big, model=EDIT_MODEL)

    with python_peak() as peak:
        key = asyncio.run(go())
    assert key.startswith("oss://")
    within_budget(peak, "the temporary upload")
    assert digest(stored_copy(sandbox_data_dir, key)) == digest(big)


@measured
def test_a_large_result_is_downloaded_to_a_file_and_probed_there(big: Path, sandbox_base: str,
                                                                 tmp_path: Path) -> None:
    """A download streams to a temporary file, is probed from it, then takes its name."""
    provider = sandbox_provider(sandbox_base, "gateway")  # uploaded to the file store, which serves it back
    dest = tmp_path / "out" / "video.mp4"
    seen: list[Path] = []

    async def go() -> int:
        async with VideoClient(provider) as video:
            url = await video.upload(big, model=EDIT_MODEL)
            return await video.download(url, dest, check=_playable(seen))

    with python_peak() as peak:
        written = asyncio.run(go())
    within_budget(peak, "uploading and downloading a 40 MiB video")
    assert written == big.stat().st_size and digest(dest) == digest(big)
    assert seen and seen[0] != dest and not seen[0].exists(), "probed under a temporary name, then renamed"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["video.mp4"]


@measured
def test_probing_and_thumbnailing_a_large_video_read_from_the_file(big: Path) -> None:
    """The attach probe walks every packet and the thumbnail decodes one frame, from the file itself."""
    with python_peak() as peak:
        verdict = check_file(big, PROFILE.media["video"], ("video",))
        still = thumbnail_jpeg(big)
    assert verdict.info is not None and verdict.info.frames == 76 and not verdict.errors
    assert still.startswith(b"\xff\xd8")
    within_budget(peak, "probing and thumbnailing a 40 MiB video")


class _BusyOnce(BaseHTTPRequestHandler):
    """A file store that reads a whole upload, answers 429 the first time and 200 after."""

    bodies: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).bodies.append((self.headers["Content-Type"], body))
        busy = len(type(self).bodies) == 1
        answer = json.dumps({"code": "Throttling"} if busy else {"url": "http://127.0.0.1/stored.mp4"}).encode()
        self.send_response(429 if busy else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: object) -> None:
        pass


def _file_part(content_type: str, body: bytes) -> tuple[str | None, bytes]:
    message = BytesParser().parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    parts = message.get_payload()
    assert isinstance(parts, list) and len(parts) == 1, "one part: the file"
    part = parts[0]
    assert isinstance(part, Message)
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return part.get_filename(), data


def test_a_retried_upload_sends_the_whole_file_again_from_its_start(tmp_path: Path) -> None:
    """The first attempt is refused after the whole body went; the retry reads the file again."""
    source = tmp_path / 'clip "one".mp4'
    source.write_bytes(bytes(range(256)) * (3 * MIB // 256 + 7))  # several chunks, not a round number
    _BusyOnce.bodies = []
    with http_server(_BusyOnce) as root:
        provider = sandbox_provider(root, "gateway")  # the file store's form post

        async def go() -> str:
            async with VideoClient(provider) as video:
                return await video.upload(source, model=EDIT_MODEL)

        assert asyncio.run(go()) == "http://127.0.0.1/stored.mp4"
    assert len(_BusyOnce.bodies) == 2
    for content_type, body in _BusyOnce.bodies:
        name, data = _file_part(content_type, body)
        assert data == source.read_bytes()
        assert name == "clip %22one%22.mp4"  # quoted as browsers and httpx quote it: the header stays whole


def test_a_file_that_changes_during_the_upload_fails_instead_of_sending_a_mix(tmp_path: Path) -> None:
    """The length is declared up front; a file now shorter or longer is an error, never a wrong body."""
    source = tmp_path / "a.mp4"
    source.write_bytes(b"x" * (MIB + 10))
    form = StreamedForm(source, source.name)

    async def drain(size: int) -> bytes:
        return b"".join([chunk async for chunk in form.body(size)])

    assert len(asyncio.run(drain(MIB + 10))) == int(form.headers(MIB + 10)["Content-Length"])
    for claimed in (MIB + 11, MIB + 9):
        with pytest.raises(FileChanged):
            asyncio.run(drain(claimed))


def test_an_upload_of_a_file_gone_before_it_is_sent_is_a_clear_failure(tmp_path: Path) -> None:
    """A vanished file is UploadFailed naming it, not a traceback from inside the HTTP stack."""
    provider = sandbox_provider("http://127.0.0.1:9/sandbox", "gateway")

    async def go() -> str:
        async with VideoClient(provider) as video:
            return await video.upload(tmp_path / "gone.mp4", model=EDIT_MODEL)

    with pytest.raises(UploadFailed, match=r"gone\.mp4: cannot read it"):
        asyncio.run(go())
