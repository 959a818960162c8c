"""Server memory while 100 MB videos are attached through the app's own Gradio API, and downloaded.

Run: ``python -m benchmarks bench_upload``.

``python app.py`` runs as a subprocess (sandbox provider, a temporary data dir). Its resident
memory, summed over the app process and its children (the render workers), is sampled every
20 ms in a thread; each figure is the peak over the idle baseline, which is the median over a
second after a small warm-up attach (so PyAV and the first-use imports are already loaded,
as on any server that has taken one upload; the warm-up's own peak is reported beside it).
Each phase's growth is over the steady memory just before it (for the first, the idle
baseline), so memory a phase keeps is not charged to the next; the last row says how far
the server stays above idle after all of them.

* one upload: a 100 MB H.264 video (made here: intra-only lossless noise, so it really is that
  large) through ``gradio_client`` to ``/attach_video_edit_video``, as the Video Edit tab's
  video slot receives it: Gradio's upload route, then the attach handler, which probes it and
  stores it in the sandbox's file store. Target: at most 50 MB of growth;
* four at once: four different 100 MB videos, four clients in parallel. Target: 200 MB;
* one download: the sandbox's renders are a few MB, so no run yields a 100 MB result. Instead
  the 100 MB file the first attach stored is fetched from the app's sandbox file route (the
  route that serves the sandbox's results) by ``VideoClient.download`` with the probe check
  the runner uses on a result. The client runs in a process of its own, so the two sides are
  measured apart: the server serving it (target 30 MB), and the playground's own download
  code, which the server runs for every result it fetches (target 30 MB as well).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
from gradio_client import Client, handle_file

from benchmarks.process_usage import MB, PeakSampler, steady_rss, tree
from playground.media import samples
from tests.fixtures_app import ROOT, start_app, stop_app

SIZE = 100 * MB  # the profile's limit for a source video is 100 MiB, just above
API = "/attach_video_edit_video"
TARGETS_MB = {"one": 50, "four": 200, "download": 30}

# The download client, in its own process: ready once imported, downloads on a line from stdin.
DOWNLOADER = """
import asyncio, sys
from pathlib import Path
from pydantic import SecretStr
from playground.client import ProviderConfig, VideoClient
from playground.media.probe import MediaError, probe

async def check(candidate):
    try:
        await asyncio.to_thread(probe, candidate)
    except MediaError as exc:
        return str(exc)
    return None

async def main(base, url, dest):
    provider = ProviderConfig(kind="sandbox", wire="dashscope", base_url=base, api_key=SecretStr("sk-bench-0000"))
    async with VideoClient(provider) as client:
        print("ready", flush=True)
        sys.stdin.readline()
        written = await client.download(url, Path(dest), check=check)
        print("done", written, flush=True)

asyncio.run(main(*sys.argv[1:4]))
"""


def make_video(path: Path, seed: int) -> Path:
    """An H.264 MP4 of about ``size`` bytes: lossless, intra-only noise at 640x352, 30 fps.

    Every frame is a keyframe of incompressible noise, so the file is large for its length
    (about 0.5 MB a frame) and stays within the source video's 2-10 s. Frames are added until
    the packets reach ``SIZE``.
    """
    rng = np.random.default_rng(seed)
    width, height = 640, 352
    planes = [rng.integers(0, 256, (height * 3 // 2, width), dtype=np.uint8) for _ in range(6)]
    written = 0
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "0", "preset": "ultrafast", "g": "1", "keyint": "1"}
        index = 0
        while written < SIZE - 600_000:
            frame = av.VideoFrame.from_ndarray(planes[index % len(planes)], format="yuv420p")
            frame.pts = index
            for packet in stream.encode(frame):
                written += packet.size
                container.mux(packet)
            index += 1
        for packet in stream.encode():
            container.mux(packet)
    return path


def _attach(url: str, video: Path, wire: str = "dashscope") -> str:
    """Attach through the app's Gradio API as the Video Edit tab does: in DashScope's format (the
    default) through the temporary upload, an oss:// URL; in the gateway format to the sandbox's
    file store, a URL the download phase can fetch."""
    client = Client(url + "/", verbose=False, download_files=False)
    try:
        stored, _ = client.predict(handle_file(str(video)), "", "sandbox", wire, "", "none", api_name=API)
    finally:
        client.close()
    expected = "oss://" if wire == "dashscope" else "/sandbox/files/"
    if expected not in str(stored):
        raise RuntimeError(f"{video.name} was not attached: the URL box holds {stored!r}")
    return str(stored)


def _peak(root: int, job: Callable[[], object]) -> tuple[int, float, object]:
    """Run ``job`` while sampling the tree's memory: its peak, the seconds it took, its result."""
    with PeakSampler(root) as sampler:
        start = time.perf_counter()
        result = job()
        seconds = time.perf_counter() - start
    return sampler.peak, seconds, result


def _four(url: str, videos: list[Path]) -> list[str]:
    answers: list[str | BaseException] = [""] * len(videos)

    def one(i: int) -> None:
        try:
            answers[i] = _attach(url, videos[i])
        except BaseException as exc:  # re-raised below, in this thread
            answers[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(videos))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return [str(a) for a in answers]


def _download(app_url: str, file_url: str, dest: Path) -> tuple[int, int]:
    """Fetch ``file_url`` with VideoClient.download in a child process: the peak growth of the
    child's memory over its own just before, and the bytes written."""
    child = subprocess.Popen(
        [sys.executable, "-c", DOWNLOADER, app_url + "/sandbox", file_url, str(dest)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("the download client did not start")
        client_idle = steady_rss(child.pid, 0.5)
        with PeakSampler(child.pid) as client_peak:
            child.stdin.write("go\n")
            child.stdin.flush()
            answer = child.stdout.readline().split()
        if answer[:1] != ["done"]:
            raise RuntimeError(f"the download failed: {answer}")
        return client_peak.peak - client_idle, int(answer[1])
    finally:
        child.kill()
        child.wait(timeout=10)


def _row(metric: str, value: float, unit: str, target: str, baseline: str) -> dict[str, Any]:
    return {"benchmark": "upload", "metric": metric, "value": round(value, 1), "unit": unit, "target": target,
            "baseline": baseline}


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as folder:
        work = Path(folder)
        print("  making five 100 MB videos ...", file=sys.stderr, flush=True)
        small = samples.make_video(work / "warm-up.mp4", 640, 360, 3, seed=99)
        videos = [make_video(work / f"source-{i}.mp4", i) for i in range(5)]
        app = start_app(work / "app-data", delay_scale=0.0)
        try:
            return _measure(app.url, app.process.pid, small, videos, work)
        finally:
            stop_app(app)


def _measure(url: str, root: int, small: Path, videos: list[Path], work: Path) -> list[dict[str, Any]]:
    before_warm = steady_rss(root)
    warm_peak, _, _ = _peak(root, lambda: _attach(url, small))
    idle = steady_rss(root)
    one_peak, one_s, _ = _peak(root, lambda: _attach(url, videos[0]))
    print("  one upload done", file=sys.stderr, flush=True)
    after_one = steady_rss(root)
    four_peak, four_s, _ = _peak(root, lambda: _four(url, videos[1:]))
    print("  four uploads done", file=sys.stderr, flush=True)
    stored = _attach(url, videos[0], wire="gateway")  # a file the sandbox serves back, for the download
    after_four = steady_rss(root)
    with PeakSampler(root) as server:
        start = time.perf_counter()
        client_growth, written = _download(url, str(stored), work / "downloaded.mp4")
        download_s = time.perf_counter() - start
    after_all = steady_rss(root)
    processes = len(tree(root))
    size_mb = videos[0].stat().st_size / MB
    idle_text = f"idle {idle / MB:.0f} MB ({processes} processes)"
    return [
        _row("server RSS, idle (after a small warm-up attach)", idle / MB, "MB", "",
             f"before the warm-up {before_warm / MB:.0f} MB; warm-up peak +{(warm_peak - before_warm) / MB:.0f} MB"),
        _row(f"attach one {size_mb:.0f} MB video: server RSS peak growth", (one_peak - idle) / MB, "MB",
             f"<= {TARGETS_MB['one']}", f"{idle_text}; took {one_s:.1f} s"),
        _row(f"attach four {size_mb:.0f} MB videos at once: server RSS peak growth", (four_peak - after_one) / MB,
             "MB", f"<= {TARGETS_MB['four']}",
             f"{after_one / MB:.0f} MB just before; {idle_text}; took {four_s:.1f} s"),
        _row(f"download {written / MB:.0f} MB from the sandbox file route: server RSS peak growth",
             (server.peak - after_four) / MB, "MB", f"<= {TARGETS_MB['download']}",
             f"{after_four / MB:.0f} MB just before; {idle_text}; took {download_s:.1f} s"),
        _row(f"download {written / MB:.0f} MB with VideoClient.download (+ probe): client RSS peak growth",
             client_growth / MB, "MB", f"<= {TARGETS_MB['download']}", "the client process just before"),
        _row("server RSS after all phases, over idle", (after_all - idle) / MB, "MB", "", idle_text),
    ]


def main() -> int:
    from benchmarks.__main__ import table

    print(table(run()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
