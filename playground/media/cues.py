"""Shot cues: what a rehearsal video shows during each timed shot of its prompt.

A :class:`ShotCue` is one shot as the renderer needs it: its number, its time range, its text,
and which of the render's references the shot names (``Image 1`` is shown during the shots
that name it). The caption band draws each shot with a solid swatch in the shot's own colour
(:func:`shot_colour`), so a test, or a presenter scrubbing the video, can tell which shot a
frame belongs to without reading text.

Light on purpose (no codec or imaging imports): the sandbox builds cues in its server process,
and only the render processes import the heavy media modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RGB = tuple[int, int, int]

# Far apart in hue and in YUV, so an encoded frame's swatch still reads as its own colour.
SHOT_COLOURS: tuple[RGB, ...] = (
    (230, 57, 70),  # red
    (46, 196, 92),  # green
    (58, 110, 240),  # blue
    (245, 200, 35),  # yellow
    (200, 70, 220),  # magenta
    (35, 205, 215),  # cyan
    (250, 135, 30),  # orange
    (150, 150, 160),  # grey
)


def shot_colour(number: int) -> RGB:
    """The swatch colour of shot ``number`` (1-based; the eight colours repeat after shot 8)."""
    return SHOT_COLOURS[(number - 1) % len(SHOT_COLOURS)]


@dataclass(frozen=True)
class ShotCue:
    """One shot to show: ``start`` <= t < ``end`` in seconds, and the references it names.

    ``references`` are indexes into the render's references (``RenderSpec.references``), in the
    order the shot first names them.
    """

    number: int
    start: float
    end: float
    text: str
    references: tuple[int, ...] = ()

    @property
    def heading(self) -> str:
        """``Shot 2 · 3-6 s``: what the caption band writes above the shot's text."""
        return f"Shot {self.number} · {_seconds(self.start)}-{_seconds(self.end)} s"


def _seconds(value: float) -> str:
    return f"{value:g}"


def active(cues: Sequence[ShotCue], seconds: float) -> int | None:
    """The index of the cue showing at ``seconds``: of the shots running then, the one that
    started last (the later-written on a tie); None in a gap, before the first or after the last."""
    found: int | None = None
    for index, cue in enumerate(cues):
        if cue.start <= seconds < cue.end and (found is None or cue.start >= cues[found].start):
            found = index
    return found


# More bands than any sensible shot list needs; each is a full-width picture held for the render.
MAX_DRAWN = 24


def visible(cues: Sequence[ShotCue], duration: float, limit: int = MAX_DRAWN) -> tuple[ShotCue, ...]:
    """The cues a video of ``duration`` seconds can show (some of their range inside it), at most
    ``limit`` of them in written order."""
    return tuple(cue for cue in cues if cue.start < duration and cue.end > cue.start and cue.end > 0)[:limit]
