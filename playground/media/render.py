"""Render a stand-in video for a request: H.264 MP4 that shows what was asked for.

The picture is built from the request's own inputs (a first frame that zooms, a clip that
continues, references as cards, a source video re-coloured) under a text layer naming the mode,
settings and prompt. Output is deterministic: the same spec always gives the same frames.

A spec with timed shots (``shots``, see :mod:`playground.media.cues`) shows the structure the
prompt asks for: during each shot's range the bottom band shows the shot's number, range and
text beside a swatch in the shot's colour (at :func:`shot_swatch_box`, colour
:func:`shot_colour`), and with references only the cards of the references the shot names
appear (a reference video as a still of its first frame).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from playground.core.modes import MODES
from playground.media._encode import encode_frames
from playground.media._overlay import Overlay, shot_swatch_box
from playground.media._prefetch import prefetched
from playground.media._scenes import (
    CardSet,
    CardsScene,
    ClipScene,
    DriftScene,
    EditScene,
    FadeScene,
    KenBurnsScene,
    Palette,
    Rng,
    Scene,
    backdrop_picture,
    build_cards,
    palette,
    reference_labels,
    thumbnails,
)
from playground.media._sources import cover, cover_picture, load_still
from playground.media._yuv import FramePool, Picture, frame_picture, rgb_to_picture
from playground.media.cues import ShotCue, shot_colour
from playground.media.probe import probe

__all__ = ["RenderSpec", "ShotCue", "drawn_frames", "render", "shot_colour", "shot_swatch_box"]

# Room for the title and prompt bands with a picture between them; documented sizes are far larger.
_MIN_SIDE = 64
_MAX_FPS = 240
# References sit on their backdrop picture dimmed, so the cards read as the subject.
_BACKDROP_DIM = 0.6


@dataclass(frozen=True)
class RenderSpec:
    """Everything that decides the output; two equal specs render identical frames."""

    width: int
    height: int
    duration_s: float
    fps: int = 30
    seed: int = 0
    mode: str = "text-to-video"
    title: str = ""
    caption: str = ""
    first_frame: Path | None = None
    last_frame: Path | None = None
    first_clip: Path | None = None
    references: tuple[Path, ...] = field(default=())
    source_video: Path | None = None
    # Timed shots to show, each naming the references (indexes into ``references``) it shows.
    shots: tuple[ShotCue, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in ("first_frame", "last_frame", "first_clip", "source_video"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        object.__setattr__(self, "references", tuple(Path(p) for p in self.references))
        object.__setattr__(self, "shots", tuple(self.shots))
        self._check()

    def _check(self) -> None:
        for name, side in (("width", self.width), ("height", self.height)):
            if isinstance(side, bool) or not isinstance(side, int) or side < _MIN_SIDE or side % 2:
                raise ValueError(
                    f"{name} {side!r} cannot be encoded: H.264 4:2:0 needs an even number of "
                    f"pixels, at least {_MIN_SIDE}; every documented size is even"
                )
        if isinstance(self.fps, bool) or not isinstance(self.fps, int) or not 1 <= self.fps <= _MAX_FPS:
            raise ValueError(f"fps {self.fps!r} must be a whole number from 1 to {_MAX_FPS}")
        if not math.isfinite(self.duration_s) or self.frame_count < 1:
            raise ValueError(f"duration_s {self.duration_s!r} gives no frames at {self.fps} fps; use a positive length")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed {self.seed!r} must be a whole number, 0 or more")
        if self.mode not in MODES:
            raise ValueError(f"mode {self.mode!r} is not one of {', '.join(MODES)}")
        for cue in self.shots:
            if not isinstance(cue, ShotCue):
                raise ValueError(f"shots holds {cue!r}, not a ShotCue")
            outside = [i for i in cue.references if not 0 <= i < len(self.references)]
            if outside:
                raise ValueError(
                    f"shot {cue.number} names reference {outside[0]}, but there are {len(self.references)} references"
                )

    @property
    def frame_count(self) -> int:
        """Frames in the output: duration times fps, rounded the way Python's round() does."""
        return round(self.duration_s * self.fps)

    @property
    def headline(self) -> str:
        """The title line: the given title, or the settings (the mode has its own label)."""
        if self.title.strip():
            return self.title
        return f"{self.width}x{self.height} · {self.duration_s:g} s · {self.fps} fps · seed {self.seed}"


def render(spec: RenderSpec, out: Path) -> None:
    """Write the video for spec to out, atomically: out is either absent, the old file, or whole."""
    out = Path(out)
    pool = FramePool(spec.width, spec.height)
    handle, name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".mp4.part", dir=out.parent)
    os.close(handle)
    partial = Path(name)
    try:
        with drawn_frames(spec, pool) as source, prefetched(source) as ready:
            encode_frames(ready, partial, spec.width, spec.height, spec.fps, done=pool.give_back)
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@contextmanager
def drawn_frames(spec: RenderSpec, pool: FramePool) -> Iterator[Iterator[av.VideoFrame]]:
    """The finished frames of spec, lazily; inputs stay open until the block ends."""
    rng = np.random.default_rng(spec.seed)
    colours = palette(rng)
    overlay = Overlay(
        spec.width,
        spec.height,
        mode=spec.mode,
        title=spec.headline,
        caption=spec.caption,
        accent=colours.accent,
        shots=spec.shots,
        fps=spec.fps,
    )
    with closing(choose_scene(spec, overlay, colours, rng, pool)) as scene:
        yield frames(scene, overlay, spec.frame_count)


def frames(scene: Scene, overlay: Overlay, count: int) -> Iterator[av.VideoFrame]:
    """The scene's pictures with the text layer and progress bar on top."""
    for index in range(count):
        frame = scene.frame(index)
        overlay.apply(frame_picture(frame), index, count)
        yield frame


def choose_scene(spec: RenderSpec, overlay: Overlay, colours: Palette, rng: Rng, pool: FramePool) -> Scene:
    """Pick the scene from the inputs present, most specific first."""
    width, height, count = spec.width, spec.height, spec.frame_count
    if spec.source_video is not None:
        corner = thumbnails(spec.references, width, height, overlay.caption_top, colours.accent)
        return EditScene(spec.source_video, pool, spec.fps, rng, corner)
    if spec.references:
        area = (0, overlay.title_height, width, overlay.caption_top - overlay.title_height)
        cards = build_cards(spec.references, (width, height), area, colours.accent, rng)
        shot_cards = _shot_cards(spec, area, colours, rng)
        return CardsScene(pool, _card_backdrop(spec, colours), cards, spec.fps, spec.shots, shot_cards)
    base: Scene
    # The cross-fade to a last frame fills the final third: long enough to read as a transition,
    # and short because every fading frame changes every pixel, the costliest thing to encode.
    fade_start = count - count // 3
    if spec.first_clip is not None:
        base = ClipScene(spec.first_clip, pool, spec.fps, count, rng)
        clip_frames = _clip_frames(spec.first_clip, spec.fps)
        if clip_frames < count:
            fade_start = max(fade_start, clip_frames)
    elif spec.first_frame is not None:
        still = load_still(spec.first_frame, at_least=KenBurnsScene.source_size(width, height))
        base = KenBurnsScene(still, pool, count, rng)
    else:
        base = DriftScene(pool, spec.fps, colours, rng)
    if spec.last_frame is None:
        return base
    end = cover_picture(load_still(spec.last_frame, at_least=(width, height)), width, height)
    return FadeScene(base, end, fade_start, count)


def _shot_cards(spec: RenderSpec, area: tuple[int, int, int, int], colours: Palette, rng: Rng) -> list[CardSet]:
    """Per shot, the cards of the references it names, laid out for just those (built once per
    distinct set, after the full set, so a prompt without shots draws exactly as before)."""
    labels = reference_labels(spec.references)
    built: dict[tuple[int, ...], CardSet] = {}
    per_shot = []
    for cue in spec.shots:
        chosen = cue.references
        if chosen not in built:
            paths = tuple(spec.references[i] for i in chosen)
            names = [labels[i] for i in chosen]
            built[chosen] = build_cards(paths, (spec.width, spec.height), area, colours.accent, rng, names)
        per_shot.append(built[chosen])
    return per_shot


def _clip_frames(path: Path, fps: int) -> int:
    seconds = probe(path).duration_s
    return math.ceil(seconds * fps) if seconds else 0


def _card_backdrop(spec: RenderSpec, colours: Palette) -> Picture:
    if spec.first_frame is None:
        return backdrop_picture(spec.width, spec.height, colours.colours)
    still = load_still(spec.first_frame, at_least=(spec.width, spec.height))
    picture = np.asarray(cover(still, spec.width, spec.height), dtype=np.float32)
    return rgb_to_picture((picture * _BACKDROP_DIM).astype(np.uint8))
