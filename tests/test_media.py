"""Media: rendered videos (geometry, determinism, inputs visibly used), probing and media limits."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from playground.core.profile import MediaLimit, load_profile
from playground.media._encode import encode_frames
from playground.media._overlay import font, needs_wide_face, text_width, wrap
from playground.media._yuv import new_frame, rgb_to_picture
from playground.media.probe import MediaError, MediaInfo, check_media, image_size, probe
from playground.media.render import RenderSpec, render
from playground.media.samples import make_audio, make_image, make_video

RGBArray = npt.NDArray[np.uint8]
W, H = 320, 240
RED, GREEN, BLUE = (200, 40, 40), (40, 180, 60), (40, 60, 200)


# ---------------------------------------------------------------- helpers


def decode(path: Path) -> list[RGBArray]:
    with av.open(str(path)) as container:
        return [np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8) for frame in container.decode(video=0)]


def centre(frame: RGBArray) -> npt.NDArray[np.float64]:
    """Mean colour of the middle of the picture, clear of the text bands."""
    h, w = frame.shape[:2]
    region = frame[int(h * 0.35) : int(h * 0.6), int(w * 0.3) : int(w * 0.7)]
    mean: npt.NDArray[np.float64] = region.reshape(-1, 3).mean(axis=0)
    return mean


def near(colour: npt.NDArray[np.float64], expected: tuple[int, int, int], tolerance: float = 14) -> bool:
    return bool(np.abs(colour - np.asarray(expected)).max() <= tolerance)


def digest(frames: list[RGBArray]) -> str:
    hasher = hashlib.sha256()
    for frame in frames:
        hasher.update(frame.tobytes())
    return hasher.hexdigest()


def solid_image(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (W, H)) -> Path:
    Image.new("RGB", size, colour).save(path)
    return path


def solid_video(path: Path, colours: list[tuple[int, int, int]], seconds_each: float, fps: int = 30) -> Path:
    """A clip made of flat colour segments, one after another."""

    def frames() -> Iterator[av.VideoFrame]:
        for colour in colours:
            picture = rgb_to_picture(np.full((H, W, 3), colour, dtype=np.uint8))
            for _ in range(round(seconds_each * fps)):
                frame, target = new_frame(W, H)
                picture.copy_into(target)
                yield frame

    encode_frames(frames(), path, W, H, fps)
    return path


def spec(**changes: object) -> RenderSpec:
    base = RenderSpec(W, H, 1.0, seed=3, caption="a red fox runs through fresh snow")
    return replace(base, **changes)  # type: ignore[arg-type]


# ---------------------------------------------------------------- render: the file itself


def test_720p_file_has_exact_geometry_rate_codec_and_index_first(tmp_path: Path) -> None:
    """A 720P render is 1280x720 H.264 yuv420p at exactly 30 fps with the moov atom first."""
    out = tmp_path / "out.mp4"
    render(RenderSpec(1280, 720, 1.0, caption="geometry"), out)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1280, 720)
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.average_rate == 30
        assert stream.time_base == Fraction(1, 30)
        assert stream.frames == 30
        assert sum(1 for _ in container.decode(stream)) == 30
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")


@pytest.mark.parametrize(
    ("width", "height", "seconds", "fps", "frames"),
    [
        (320, 240, 1.0, 30, 30),
        (240, 320, 0.5, 24, 12),
        (256, 256, 2.5, 25, 62),  # round() of 62.5 is 62
        (320, 180, 0.1, 30, 3),
    ],
)
def test_frame_count_and_rate_are_exact(
    tmp_path: Path, width: int, height: int, seconds: float, fps: int, frames: int
) -> None:
    """Frames are round(duration x fps), decoded one by one, at the requested rate and size."""
    out = tmp_path / "out.mp4"
    render(RenderSpec(width, height, seconds, fps=fps), out)
    decoded = decode(out)
    assert len(decoded) == frames
    assert decoded[0].shape == (height, width, 3)
    info = probe(out)
    assert (info.codec, info.pix_fmt, info.fps, info.frames) == ("h264", "yuv420p", fps, frames)


def test_writes_atomically_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    """The result replaces the target in one step; nothing else is left in the folder."""
    out = tmp_path / "out.mp4"
    out.write_bytes(b"old")
    render(spec(), out)
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]
    assert probe(out).kind == "video"


def test_failed_render_leaves_the_old_file_and_no_partial_one(tmp_path: Path) -> None:
    """A bad input raises MediaError; the previous output survives and no part-file remains."""
    out = tmp_path / "out.mp4"
    out.write_bytes(b"old")
    liar = tmp_path / "first.png"
    liar.write_text("not a picture")
    with pytest.raises(MediaError, match=r"first\.png"):
        render(spec(mode="image-to-video", first_frame=liar), out)
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.png", "out.mp4"]


def test_a_picture_is_not_accepted_as_a_source_video(tmp_path: Path) -> None:
    """Passing an image where a video belongs fails with a sentence naming the file."""
    picture = make_image(tmp_path / "still.png", W, H)
    with pytest.raises(MediaError, match=r"still\.png is an image, not a video"):
        render(spec(mode="video-edit", source_video=picture), tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"width": 321}, "even"),
        ({"height": 0}, "even"),
        ({"duration_s": 0.0}, "positive"),
        ({"duration_s": float("nan")}, "positive"),
        ({"fps": 0}, "fps"),
        ({"seed": -1}, "seed"),
        ({"mode": "t2v"}, "not one of"),
    ],
)
def test_impossible_specs_are_refused_with_a_reason(changes: dict[str, object], words: str) -> None:
    """Odd sizes, empty durations, bad rates, negative seeds and unknown modes raise ValueError."""
    with pytest.raises(ValueError, match=words):
        spec(**changes)


# ---------------------------------------------------------------- render: determinism and motion


def test_same_spec_gives_identical_frames_and_another_seed_does_not(tmp_path: Path) -> None:
    """Rendering is a pure function of the spec; the seed changes the picture."""
    first, second, other = tmp_path / "a.mp4", tmp_path / "b.mp4", tmp_path / "c.mp4"
    render(spec(), first)
    render(spec(), second)
    render(spec(seed=4), other)
    assert digest(decode(first)) == digest(decode(second))
    assert digest(decode(first)) != digest(decode(other))


def test_picture_moves(tmp_path: Path) -> None:
    """Something in the picture moves between frames, so it is plainly a video."""
    out = tmp_path / "out.mp4"
    render(spec(), out)
    frames = decode(out)
    assert np.abs(frames[0].astype(int) - frames[15].astype(int)).mean() > 1


def test_prompt_and_mode_are_drawn(tmp_path: Path) -> None:
    """Changing only the prompt changes the bottom band; changing the mode changes the top band."""
    paths = [tmp_path / f"{n}.mp4" for n in "abc"]
    render(spec(caption="a red fox"), paths[0])
    render(spec(caption="a blue whale"), paths[1])
    render(spec(caption="a red fox", mode="video-edit"), paths[2])
    base, prompt, mode = (decode(p)[0].astype(int) for p in paths)
    top, bottom = slice(0, H // 8), slice(H - H // 8, H)
    assert np.abs(base[bottom] - prompt[bottom]).sum() > 0
    assert np.abs(base[top] - prompt[top]).sum() == 0
    assert np.abs(base[top] - mode[top]).sum() > 0


def test_a_chinese_prompt_is_drawn_in_real_glyphs(tmp_path: Path) -> None:
    """Wan prompts are often Chinese. Without a CJK face every character is the same empty box,
    so two prompts that differ in one character drew the same band; with one they differ, in
    the title and in the prompt (the test command installs Debian's fonts-wqy-microhei)."""
    face = font(24, text="猫")
    same = bytes(face.getmask("猫")) == bytes(face.getmask("狗"))
    assert not same, "two CJK characters were drawn as the same box: no CJK face (fonts-wqy-microhei) was found"
    paths = [tmp_path / f"{n}.mp4" for n in "ab"]
    render(spec(caption="一只猫在雨中的屋顶上", title="猫"), paths[0])
    render(spec(caption="一只狗在雨中的屋顶上", title="狗"), paths[1])
    cat, dog = (decode(p)[0].astype(int) for p in paths)
    top, bottom = slice(0, H // 8), slice(H - H // 8, H)
    assert np.abs(cat[bottom] - dog[bottom]).sum() > 0
    assert np.abs(cat[top] - dog[top]).sum() > 0
    assert needs_wide_face("一只猫") and needs_wide_face("한국어") and not needs_wide_face("a café — naïve")


def test_very_long_prompts_are_cut_to_fit(tmp_path: Path) -> None:
    """A 5000-character prompt still renders (wrapped to a few lines, ending in an ellipsis)."""
    out = tmp_path / "out.mp4"
    render(spec(caption="word " * 1000, title="x" * 400), out)
    assert len(decode(out)) == 30


# ---------------------------------------------------------------- render: inputs visibly used


def test_first_frame_opens_the_video(tmp_path: Path) -> None:
    """Image-to-video starts on the first frame picture."""
    first = solid_image(tmp_path / "first.png", RED)
    out = tmp_path / "out.mp4"
    render(spec(mode="image-to-video", first_frame=first), out)
    assert near(centre(decode(out)[0]), RED)


def test_last_frame_closes_the_video(tmp_path: Path) -> None:
    """With a last frame the video cross-fades to it: it starts on the first and ends on the last."""
    first = solid_image(tmp_path / "first.png", RED)
    last = solid_image(tmp_path / "last.jpg", BLUE, size=(400, 300))
    out = tmp_path / "out.mp4"
    render(spec(mode="image-to-video", first_frame=first, last_frame=last), out)
    frames = decode(out)
    assert near(centre(frames[0]), RED)
    assert near(centre(frames[-1]), BLUE)


def test_first_clip_plays_first_then_continues(tmp_path: Path) -> None:
    """The clip's own frames come first (red, then green), and the video carries on from its end."""
    clip = solid_video(tmp_path / "clip.mp4", [RED, GREEN], seconds_each=0.5, fps=24)
    out = tmp_path / "out.mp4"
    render(spec(mode="image-to-video", first_clip=clip, duration_s=2.0), out)
    frames = decode(out)
    assert len(frames) == 60
    assert near(centre(frames[0]), RED)
    assert near(centre(frames[20]), GREEN)
    assert near(centre(frames[-1]), GREEN)


def test_long_first_clip_is_cut_and_still_ends_on_the_last_frame(tmp_path: Path) -> None:
    """A clip longer than the video is cut short, and a last frame still closes the video."""
    clip = solid_video(tmp_path / "clip.mp4", [RED], seconds_each=2.0)
    last = solid_image(tmp_path / "last.png", BLUE)
    out = tmp_path / "out.mp4"
    render(spec(mode="image-to-video", first_clip=clip, last_frame=last), out)
    frames = decode(out)
    assert len(frames) == 30
    assert near(centre(frames[0]), RED)
    assert near(centre(frames[-1]), BLUE)


def test_references_appear_as_cards(tmp_path: Path) -> None:
    """Reference images, and a reference video's first frame, all show up in the picture."""
    refs = (
        solid_image(tmp_path / "a.png", RED),
        solid_image(tmp_path / "b.png", BLUE),
        solid_video(tmp_path / "c.mp4", [GREEN, RED], seconds_each=0.5),
    )
    out = tmp_path / "out.mp4"
    render(spec(mode="reference-to-video", references=refs), out)
    frame = decode(out)[10].astype(int)
    for colour in (RED, BLUE, GREEN):
        close = (np.abs(frame - np.asarray(colour)).max(axis=2) < 16).mean()
        assert close > 0.02, colour


def test_edit_recolours_the_source_and_keeps_its_light(tmp_path: Path) -> None:
    """Video edit shows the source's frames with shifted colours; brightness stays about the same."""
    source = solid_video(tmp_path / "source.mp4", [RED], seconds_each=1.0)
    out = tmp_path / "out.mp4"
    render(spec(mode="video-edit", source_video=source), out)
    before = centre(decode(source)[0])
    after = centre(decode(out)[0])
    assert np.abs(after - before).max() > 40

    def luma(rgb: npt.NDArray[np.float64]) -> float:
        return float(rgb @ np.array([0.2126, 0.7152, 0.0722]))

    assert abs(luma(after) - luma(before)) < 25


def test_edit_loops_a_short_source_and_cuts_a_long_one(tmp_path: Path) -> None:
    """The output has the requested length: a 1 s source loops to 2 s, a 2 s source is cut to 1 s."""
    short = solid_video(tmp_path / "short.mp4", [RED, BLUE], seconds_each=0.5)
    long = solid_video(tmp_path / "long.mp4", [RED, BLUE], seconds_each=1.0)
    looped, cut = tmp_path / "looped.mp4", tmp_path / "cut.mp4"
    render(spec(mode="video-edit", source_video=short, duration_s=2.0), looped)
    render(spec(mode="video-edit", source_video=long, duration_s=1.0), cut)
    frames = decode(looped)
    assert len(frames) == 60
    # Frame 30 is the source's first frame again, so it matches frame 0 and not frame 20.
    assert np.abs(centre(frames[30]) - centre(frames[0])).max() < 6
    assert np.abs(centre(frames[20]) - centre(frames[0])).max() > 40
    assert len(decode(cut)) == 30


def test_edit_with_references_renders(tmp_path: Path) -> None:
    """Reference images beside a source video are shown as small cards and do not break edits."""
    source = solid_video(tmp_path / "source.mp4", [GREEN], seconds_each=1.0)
    refs = (make_image(tmp_path / "r.png", 240, 320, seed=1),)
    out = tmp_path / "out.mp4"
    render(spec(mode="video-edit", source_video=source, references=refs), out)
    assert len(decode(out)) == 30


@pytest.mark.parametrize("mode", ["text-to-video", "image-to-video", "reference-to-video", "video-edit"])
def test_smallest_and_portrait_frames_render_in_every_mode(tmp_path: Path, mode: str) -> None:
    """Every mode lays out at the smallest allowed size and in portrait without failing."""
    picture = make_image(tmp_path / "p.png", 300, 400, seed=1)
    clip = make_video(tmp_path / "c.mp4", 320, 240, 0.5)
    inputs: dict[str, dict[str, object]] = {
        "text-to-video": {},
        "image-to-video": {"first_frame": picture, "last_frame": picture},
        "reference-to-video": {"references": (picture,) * 5 + (clip,)},
        "video-edit": {"source_video": clip, "references": (picture,) * 4},
    }
    for width, height in ((64, 64), (180, 320)):
        out = tmp_path / f"{width}.mp4"
        render(spec(mode=mode, width=width, height=height, duration_s=0.2, **inputs[mode]), out)
        assert decode(out)[0].shape == (height, width, 3)


def test_prompts_wrap_to_the_width_and_end_with_an_ellipsis() -> None:
    """Long prompts wrap within the width, stop at the line limit and say they were cut."""
    face = font(20)
    lines = wrap("a quick brown fox " * 200, face, 300, 3)
    assert len(lines) == 3
    assert lines[-1].endswith("…")
    assert all(text_width(line, face) <= 300 for line in lines)
    unbroken = wrap("长" * 400, face, 200, 2)
    assert len(unbroken) == 2
    assert all(text_width(line, face) <= 200 for line in unbroken)
    assert wrap("short", face, 300, 3) == ["short"]


# ---------------------------------------------------------------- probe: good files


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".bmp"])
def test_probe_images(tmp_path: Path, suffix: str) -> None:
    """Sample images of every accepted format are recognised with their size."""
    path = make_image(tmp_path / f"a{suffix}", 300, 260, seed=2)
    info = probe(path)
    expected = {".jpg": "jpeg"}.get(suffix, suffix[1:])
    assert (info.kind, info.format, info.width, info.height) == ("image", expected, 300, 260)
    assert info.bytes == path.stat().st_size
    assert info.duration_s is None


def test_probe_reports_alpha_and_displayed_orientation(tmp_path: Path) -> None:
    """A transparent PNG has alpha; a JPEG tagged 'rotate 90' reports its displayed size."""
    Image.new("RGBA", (300, 250), (10, 20, 30, 128)).save(tmp_path / "alpha.png")
    assert probe(tmp_path / "alpha.png").has_alpha
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (400, 300), RED).save(tmp_path / "turned.jpg", exif=exif)
    assert image_size(tmp_path / "turned.jpg") == (300, 400)


def test_probe_trusts_content_over_the_name(tmp_path: Path) -> None:
    """A JPEG saved as .png is reported as JPEG."""
    jpeg = make_image(tmp_path / "a.jpg", 300, 260)
    renamed = tmp_path / "really.png"
    renamed.write_bytes(jpeg.read_bytes())
    assert probe(renamed).format == "jpeg"


@pytest.mark.parametrize(("suffix", "fmt"), [(".mp4", "mp4"), (".mov", "mov")])
def test_probe_videos(tmp_path: Path, suffix: str, fmt: str) -> None:
    """Videos report container, codec, geometry, rate, length and frame count."""
    path = make_video(tmp_path / f"clip{suffix}", 320, 240, 2.0, fps=24)
    info = probe(path)
    assert (info.kind, info.format, info.codec, info.pix_fmt) == ("video", fmt, "h264", "yuv420p")
    assert (info.width, info.height, info.fps, info.frames) == (320, 240, 24, 48)
    assert info.duration_s == pytest.approx(2.0)


@pytest.mark.parametrize(("suffix", "codec"), [(".wav", "pcm_s16le"), (".mp3", "mp3float")])
def test_probe_audio(tmp_path: Path, suffix: str, codec: str) -> None:
    """WAV and MP3 report their length; they have no picture."""
    info = probe(make_audio(tmp_path / f"tone{suffix}", 2.5))
    assert (info.kind, info.format, info.codec, info.width) == ("audio", suffix[1:], codec, None)
    assert info.duration_s == pytest.approx(2.5, abs=0.06)


# ---------------------------------------------------------------- probe: files that lie


def _truncated(path: Path, keep: float) -> Path:
    data = path.read_bytes()
    cut = path.with_name("cut-" + path.name)
    cut.write_bytes(data[: int(len(data) * keep)])
    return cut


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.png", b"just some notes, not a picture\n", "x.png is not an image: it holds text"),
        ("x.mp4", b"", "x.mp4 is empty (0 bytes)"),
        ("x.mp4", b"<!DOCTYPE html><html>403</html>", "x.mp4 is not a video: it holds an HTML web page"),
        ("x.jpg", b'{"error": "expired"}', "x.jpg is not an image: it holds JSON text"),
        ("x.wav", random.Random(410).randbytes(4096).replace(b"\xff", b"\x00"), "x.wav is not an audio file"),
    ],
)
def test_probe_names_what_a_lying_file_really_is(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    """Text, empty files, web pages and noise get one clear sentence, not a traceback."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(MediaError) as caught:
        probe(path)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_probe_rejects_truncated_files(tmp_path: Path) -> None:
    """Cut-off MP4s (index first or last), PNGs, JPEGs and WAVs are reported as truncated or damaged."""
    faststart = make_video(tmp_path / "fast.mp4", 320, 240, 1.0)
    with av.open(str(tmp_path / "slow.mp4"), mode="w") as output:  # a plain mux: index at the end
        stream = output.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for index in range(30):
            frame = av.VideoFrame.from_ndarray(np.full((360, 320), index * 8, np.uint8), format="yuv420p")
            frame.pts = index
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    broken = [
        _truncated(faststart, 0.5),
        _truncated(tmp_path / "slow.mp4", 0.8),
        _truncated(make_image(tmp_path / "a.png", 320, 240), 0.5),
        _truncated(make_image(tmp_path / "a.jpg", 320, 240), 0.5),
        _truncated(make_audio(tmp_path / "a.wav", 1.0), 0.5),
    ]
    for path in broken:
        with pytest.raises(MediaError, match=r"truncated|damaged") as caught:
            probe(path)
        assert path.name in str(caught.value)


def test_probe_missing_file_and_folder(tmp_path: Path) -> None:
    """A missing path and a folder are named as such."""
    with pytest.raises(MediaError, match="does not exist"):
        probe(tmp_path / "nowhere.png")
    with pytest.raises(MediaError, match="is a folder"):
        probe(tmp_path)


def test_image_size_refuses_non_images(tmp_path: Path) -> None:
    """image_size on a video says it is not an image."""
    with pytest.raises(MediaError, match="not an image"):
        image_size(make_video(tmp_path / "v.mp4", 320, 240, 0.2))


# ---------------------------------------------------------------- check_media

PROFILE = load_profile()
IMAGE = PROFILE.media["first_frame"]
VIDEO = PROFILE.media["first_clip"]
AUDIO = PROFILE.media["driving_audio"]
LOC = ("media", 0, "url")


def image_info(**changes: object) -> MediaInfo:
    base = MediaInfo("image", "png", 1000, 1280, 720, None, None, None, 1, "RGB")
    return replace(base, **changes)  # type: ignore[arg-type]


def video_info(**changes: object) -> MediaInfo:
    base = MediaInfo("video", "mp4", 1000, 1280, 720, 5.0, 30.0, "h264", 150, "yuv420p")
    return replace(base, **changes)  # type: ignore[arg-type]


def audio_info(**changes: object) -> MediaInfo:
    base = MediaInfo("audio", "wav", 1000, None, None, 5.0, None, "pcm_s16le", None, None)
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("info", "limit"),
    [
        (image_info(), IMAGE),
        (image_info(format="jpeg"), IMAGE),
        (image_info(width=240, height=1920), IMAGE),
        (video_info(duration_s=2.0), VIDEO),
        (video_info(duration_s=10.0, width=4096, height=512), VIDEO),
        (audio_info(format="mp3", duration_s=30.0), AUDIO),
    ],
)
def test_files_within_limits_pass(info: MediaInfo, limit: MediaLimit) -> None:
    """Files at or inside every bound raise nothing (jpg and jpeg are the same format)."""
    assert check_media(info, limit, LOC) == []


@pytest.mark.parametrize(
    ("info", "limit", "message", "fix"),
    [
        (audio_info(), IMAGE, "this is an audio file, but an image is needed here", "JPEG, PNG, BMP or WEBP format"),
        (image_info(), VIDEO, "this is an image, but a video is needed here", "MP4 or MOV"),
        (image_info(format="gif"), IMAGE, "GIF is not accepted", "convert it to JPEG, PNG, BMP or WEBP"),
        (video_info(format="webm"), VIDEO, "WEBM is not accepted", "MP4 or MOV"),
        (image_info(bytes=21 * 1024**2), IMAGE, "the file is 21 MB, over the 20 MB limit", "under 20 MB"),
        (video_info(bytes=101 * 1024**2), VIDEO, "over the 100 MB limit", "lower bitrate"),
        (image_info(width=239, height=400), IMAGE, "239x400 is too small: each side must be at least 240 px", "240"),
        (image_info(width=8001, height=4000), IMAGE, "8001x4000 is too large: each side must be at most 8000", "8000"),
        (video_info(width=4100, height=2160), VIDEO, "at most 4096 px", "longer side"),
        (image_info(width=2000, height=240), IMAGE, "2000x240 is too wide (8.3:1)", "at most 8 times"),
        (image_info(width=240, height=2000), IMAGE, "240x2000 is too tall", "crop it"),
        (video_info(duration_s=1.5), VIDEO, "1.5 s is shorter than the 2 s minimum", "at least 2 s long"),
        (video_info(duration_s=10.04), VIDEO, "10.04 s is longer than the 10 s maximum", "trim it to 10 s"),
        (video_info(duration_s=10.002), VIDEO, "10.002 s is longer", "trim it"),
        (audio_info(duration_s=31.0), AUDIO, "31 s is longer than the 30 s maximum", "trim"),
        (audio_info(duration_s=1.0), AUDIO, "1 s is shorter than the 2 s minimum", "an audio file at least 2 s"),
    ],
)
def test_each_broken_limit_is_named_with_a_fix(info: MediaInfo, limit: MediaLimit, message: str, fix: str) -> None:
    """Each limit a file breaks gives one error at the given location, saying what and how to fix it."""
    problems = check_media(info, limit, LOC)
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.loc, problem.severity) == (LOC, "error")
    assert message in problem.message
    assert fix in problem.fix


def test_several_broken_limits_are_all_reported() -> None:
    """A file wrong in format, size and shape gets one problem for each."""
    info = image_info(format="gif", bytes=30 * 1024**2, width=100, height=1000)
    messages = [p.message for p in check_media(info, IMAGE, LOC)]
    assert len(messages) == 4
    assert any("GIF" in m for m in messages) and any("MB" in m for m in messages)
    assert any("too small" in m for m in messages) and any("too tall" in m for m in messages)


def test_unknown_length_is_a_warning() -> None:
    """A video whose length cannot be read gets a warning, not an error."""
    (problem,) = check_media(video_info(duration_s=None), VIDEO, LOC)
    assert problem.severity == "warning"
    assert "2-10 s" in problem.fix


def test_probe_then_check_on_real_files(tmp_path: Path) -> None:
    """Probing real sample files and checking them against the profile finds exactly the real problems."""
    good = probe(make_image(tmp_path / "ok.png", 640, 360))
    small = probe(make_image(tmp_path / "small.jpg", 200, 150))
    short = probe(make_video(tmp_path / "short.mp4", 320, 240, 1.0))
    tone = probe(make_audio(tmp_path / "tone.wav", 3.0))
    assert check_media(good, IMAGE, LOC) == []
    assert [p.message for p in check_media(small, IMAGE, LOC)] == [
        "200x150 is too small: each side must be at least 240 px"
    ]
    assert "shorter than the 2 s minimum" in check_media(short, VIDEO, LOC)[0].message
    assert check_media(tone, AUDIO, LOC) == []
    assert "an image is needed" in check_media(tone, IMAGE, LOC)[0].message


def test_samples_refuse_unknown_suffixes(tmp_path: Path) -> None:
    """make_image and make_video say which suffixes they write."""
    with pytest.raises(ValueError, match=r"\.png"):
        make_image(tmp_path / "a.tiff", 10, 10)
    with pytest.raises(ValueError, match=r"\.mp4"):
        make_video(tmp_path / "a.avi", 32, 32, 0.1)
