"""The rehearsal shows a prompt's structure: each timed shot's number and text during its range
(a swatch in the shot's colour, probed in decoded frames), the references a shot names during
that shot, and the sandbox-only ``sandbox_shots`` answer field on both surfaces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from playground.core.request import REQUEST_ADAPTER
from playground.media.cues import SHOT_COLOURS, ShotCue, active, shot_colour, visible
from playground.media.render import RenderSpec, render, shot_swatch_box
from playground.sandbox import shot_plan
from tests.fixtures_sandbox import (
    SampleMedia,
    auth,
    dashscope_headers,
    download,
    wait_dashscope,
    wait_gateway,
)

RGBArray = npt.NDArray[np.uint8]
W, H, FPS = 640, 360, 10
MAGENTA, CYAN = (255, 0, 255), (0, 255, 255)


def decode(path: Path) -> list[RGBArray]:
    with av.open(str(path)) as container:
        return [np.asarray(f.to_ndarray(format="rgb24"), dtype=np.uint8) for f in container.decode(video=0)]


def swatch(frame: RGBArray) -> npt.NDArray[np.float64]:
    """The mean colour of the middle of the shot swatch (clear of its blurred edges)."""
    height, width = frame.shape[:2]
    x, y, w, h = shot_swatch_box(width, height)
    region = frame[y + h // 4 : y + 3 * h // 4, x + w // 4 : x + 3 * w // 4]
    mean: npt.NDArray[np.float64] = region.reshape(-1, 3).astype(float).mean(axis=0)
    return mean


def nearest_shot(colour: npt.NDArray[np.float64]) -> tuple[int, float]:
    """The shot number whose colour is nearest, and how far it is (max channel difference)."""
    distances = [float(np.abs(colour - np.asarray(c)).max()) for c in SHOT_COLOURS]
    best = int(np.argmin(distances))
    return best + 1, distances[best]


def share(frame: RGBArray, colour: tuple[int, int, int], top: float = 0.15, bottom: float = 0.6) -> float:
    """The share of the picture's middle (clear of both text bands) close to a colour."""
    height = frame.shape[0]
    middle = frame[int(height * top) : int(height * bottom)].astype(int)
    return float((np.abs(middle - np.asarray(colour)).max(axis=2) < 24).mean())


def solid(path: Path, colour: tuple[int, int, int]) -> Path:
    Image.new("RGB", (400, 400), colour).save(path)
    return path


# -- rendering ------------------------------------------------------------------------------------


def test_each_shot_shows_its_number_and_colour_during_its_range(tmp_path: Path) -> None:
    """A frame inside each shot carries that shot's swatch; a gap and the overall part carry none."""
    cues = (
        ShotCue(1, 0, 1, "Wide shot: waves break below the cliff."),
        ShotCue(2, 1, 2, "Close-up: the lamp begins to turn."),
        ShotCue(3, 2.5, 3, "Aerial shot: the beam sweeps the sea."),
    )
    out = tmp_path / "shots.mp4"
    render(RenderSpec(W, H, 3.0, fps=FPS, caption="A lighthouse at dusk.", shots=cues), out)
    frames = decode(out)
    assert len(frames) == 30
    for cue in cues:
        middle = int((cue.start + cue.end) / 2 * FPS)
        number, distance = nearest_shot(swatch(frames[middle]))
        assert number == cue.number and distance < 24, (cue, swatch(frames[middle]))
    # 2.0-2.5 s is a gap: the band shows the overall description, with no swatch.
    _, distance = nearest_shot(swatch(frames[22]))
    assert distance > 60, swatch(frames[22])
    # The caption region differs between shots (its text changes), not only the swatch.
    x, y, w, _ = shot_swatch_box(W, H)
    text_box = (slice(y, H - 8), slice(x + w + 4, W))
    assert np.abs(frames[5][text_box].astype(int) - frames[15][text_box].astype(int)).mean() > 2


def test_a_prompt_without_shots_draws_as_before(tmp_path: Path) -> None:
    """No cues: no swatch, and the frames are those of the same spec built without the field."""
    first, second = tmp_path / "a.mp4", tmp_path / "b.mp4"
    render(RenderSpec(W, H, 1.0, fps=FPS, caption="Plain prompt."), first)
    render(RenderSpec(W, H, 1.0, fps=FPS, caption="Plain prompt.", shots=()), second)
    assert first.read_bytes() == second.read_bytes()


def test_references_appear_during_the_shots_that_name_them(tmp_path: Path) -> None:
    """Shot 1 names Image 1, shot 2 the reference video (a still of it), shot 3 nothing: only the
    named cards show; outside the shots every card shows."""
    image = solid(tmp_path / "magenta.png", MAGENTA)
    clip = tmp_path / "cyan.mp4"
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for _ in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((240, 320, 3), CYAN, dtype=np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    cues = (
        ShotCue(1, 0, 1, "Image 1 walks in.", (0,)),
        ShotCue(2, 1, 2, "Video 1 dances.", (1,)),
        ShotCue(3, 2, 3, "The sun sets.", ()),
    )
    out = tmp_path / "cards.mp4"
    spec = RenderSpec(W, H, 4.0, fps=FPS, mode="reference-to-video", references=(image, clip), shots=cues)
    render(spec, out)
    frames = decode(out)
    in_shot_1, in_shot_2, in_shot_3, after = frames[5], frames[15], frames[25], frames[35]
    assert share(in_shot_1, MAGENTA) > 0.02 and share(in_shot_1, CYAN) < 0.002
    assert share(in_shot_2, CYAN) > 0.02 and share(in_shot_2, MAGENTA) < 0.002
    assert share(in_shot_3, MAGENTA) < 0.002 and share(in_shot_3, CYAN) < 0.002
    assert share(after, MAGENTA) > 0.01 and share(after, CYAN) > 0.01


def test_cues_that_cannot_show_are_dropped_and_a_bad_reference_is_refused(tmp_path: Path) -> None:
    cues = [ShotCue(n, n - 1.0, float(n), f"shot {n}") for n in range(1, 40)]
    shown = visible([*cues, ShotCue(99, 3, 2, "backwards")], duration=30)
    assert len(shown) == 24 and all(c.start < 30 for c in shown)
    assert visible([ShotCue(1, 12, 14, "past the end")], duration=10) == ()
    assert active(cues[:3], 1.5) == 1 and active(cues[:3], 3.5) is None
    # Overlapping shots: the one that started last is showing.
    assert active([ShotCue(1, 0, 4, "a"), ShotCue(2, 2, 3, "b")], 2.5) == 1
    assert shot_colour(1) == shot_colour(1 + len(SHOT_COLOURS))
    with pytest.raises(ValueError, match="names reference 1"):
        RenderSpec(W, H, 1.0, shots=(ShotCue(1, 0, 1, "Image 2", (1,)),), references=(tmp_path / "a.png",))


# -- the shot plan and the answer field ------------------------------------------------------------


def r2v(prompt: str, media: list[tuple[str, str]]) -> Any:
    return REQUEST_ADAPTER.validate_python(
        {"mode": "reference-to-video", "prompt": prompt, "media": [{"type": t, "url": u} for t, u in media]}
    )


def test_the_plan_names_media_indexes_and_card_indexes() -> None:
    request = r2v(
        "Night market.\nShot 1 [0-2s] Image 2 waves.\nShot 2 [2-4s] Video 1 and Image 1 meet.\nShot 3 [4-x] broken",
        [
            ("reference_video", "https://e.com/v.mp4"),
            ("reference_image", "https://e.com/a.png"),
            ("first_frame", "https://e.com/f.png"),
            ("reference_image", "https://e.com/b.png"),
        ],
    )
    understood = shot_plan.plan(request)
    assert [s.media for s in understood.shots] == [(3,), (0, 1)]
    assert understood.unparsed == ("Shot 3 [4-x] broken",)
    # Cards are the reference images and videos in media order: v.mp4, a.png, b.png.
    assert [c.references for c in shot_plan.cues(understood)] == [(2,), (0, 1)]
    assert shot_plan.answer(understood).dump() == {
        "shots": [
            {"number": 1, "start": 0, "end": 2, "text": "Image 2 waves.", "media": [3]},
            {"number": 2, "start": 2, "end": 4, "text": "Video 1 and Image 1 meet.", "media": [0, 1]},
        ],
        "unparsed": ["Shot 3 [4-x] broken"],
    }


def test_the_answer_lists_the_shots_on_both_surfaces_and_the_video_follows_them(
    client: httpx.Client, sandbox_base: str, sandbox_media: SampleMedia, tmp_path: Path
) -> None:
    """DashScope's output.sandbox_shots and the gateway's sandbox_shots list what the sandbox read,
    and the rendered video shows shot 2's swatch inside shot 2's range."""
    media = [
        {"type": "reference_image", "url": sandbox_media.urls["ref_a"]},
        {"type": "reference_image", "url": sandbox_media.urls["ref_b"]},
    ]
    prompt = "Two friends.\nShot 1 [0-1s] Image 1 walks.\nShot 2 [1-2.5s] Image 2 waves.\nShot 3 [2.5-3s] Both laugh."
    native = client.post(
        f"{sandbox_base}/api/v1/services/aigc/video-generation/video-synthesis",
        json={
            "model": "wan2.7-r2v",
            "input": {"prompt": prompt, "media": media},
            "parameters": {"resolution": "720P", "duration": 3, "ratio": "16:9"},
        },
        headers=dashscope_headers(),
    )
    assert native.status_code == 200, native.text
    done = wait_dashscope(client, sandbox_base, native.json()["output"]["task_id"])
    assert done["output"]["task_status"] == "SUCCEEDED", done
    shots = done["output"]["sandbox_shots"]
    assert [(s["number"], s["start"], s["end"], s["media"]) for s in shots["shots"]] == [
        (1, 0, 1, [0]),
        (2, 1, 2.5, [1]),
        (3, 2.5, 3, []),
    ]
    assert shots["unparsed"] == []
    frames = decode(download(client, done["output"]["video_url"], tmp_path / "r2v.mp4"))
    assert nearest_shot(swatch(frames[int(1.75 * 30)]))[0] == 2

    gateway = client.post(
        f"{sandbox_base}/v1/videos/generations",
        json={
            "model": "wan-2-7-video",
            "mode": "reference-to-video",
            "input": {"prompt": prompt, "media": media, "resolution": "720P", "duration": 3},
        },
        headers=auth(),
    )
    assert gateway.status_code == 200, gateway.text
    read = wait_gateway(client, sandbox_base, gateway.json()["task_id"])
    assert read["status"] == "completed" and read["sandbox_shots"] == shots


def test_a_prompt_without_shot_lines_gets_no_sandbox_field(client: httpx.Client, sandbox_base: str) -> None:
    answer = client.post(
        f"{sandbox_base}/v1/videos/generations",
        json={
            "model": "wan-2-7-video",
            "mode": "text-to-video",
            "input": {"prompt": "A calm sea.", "resolution": "720P", "duration": 2},
        },
        headers=auth(),
    )
    read = wait_gateway(client, sandbox_base, answer.json()["task_id"])
    assert read["status"] == "completed" and "sandbox_shots" not in read
