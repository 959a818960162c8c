"""The shot list the sandbox understood from a task's prompt: what it draws, and what it answers.

The prompt is read with the playground's own parser (``playground.core.shots``) and its
reference tokens with ``playground.core.tokens``, so the sandbox, the CLI and the UI agree on
what a prompt says. Two uses:

* the rehearsal video (``worker.py``): each timed shot's number and text during its range, and in
  reference-to-video the cards of the references the shot names (:func:`cues`);
* the task answer: ``sandbox_shots`` (``output.sandbox_shots`` in DashScope's shape, a
  top-level ``sandbox_shots`` in the gateway's), ``{"shots": [{"number", "start", "end",
  "text", "media": [media indexes the shot names]}], "unparsed": [shot lines whose time range
  could not be read, verbatim]}`` (:func:`answer`). **Sandbox only**: the real services send
  no such field, so code must never depend on it; it is there so a presenter can see what the
  request says before paying for it.

The prompt is the one the task keeps (already cut to ``prompt_max_chars``, tasks.py), and the
plan is computed from the stored request whenever it is needed, so a resumed task draws and
answers exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from playground.core.request import VideoRequest
from playground.core.shots import parse
from playground.core.tokens import request_media_types, shot_media
from playground.media.cues import ShotCue
from playground.sandbox import bodies

# The media types a rehearsal draws as reference cards (the order of RenderSpec.references).
CARD_TYPES = ("reference_image", "reference_video")


@dataclass(frozen=True)
class PlannedShot:
    number: int
    start: float
    end: float
    text: str
    media: tuple[int, ...]  # indexes into the request's media, in the order the shot names them


@dataclass(frozen=True)
class ShotPlan:
    overall: str
    shots: tuple[PlannedShot, ...]
    unparsed: tuple[str, ...]
    media_types: tuple[str, ...]

    @property
    def is_multi_shot(self) -> bool:
        return bool(self.shots)


def plan(request: VideoRequest) -> ShotPlan:
    """The request's prompt as shots, each with the media items it names."""
    shot_list = parse(request.prompt or "")
    types = request_media_types(request)
    named = shot_media(shot_list, request.mode, types)
    shots = tuple(
        PlannedShot(shot.number, shot.start, shot.end, shot.text, tuple(media))
        for shot, media in zip(shot_list.shots, named, strict=True)
    )
    return ShotPlan(shot_list.overall, shots, tuple(shot_list.unparsed), tuple(types))


def cues(shot_plan: ShotPlan) -> tuple[ShotCue, ...]:
    """The shots as the renderer takes them; media indexes become reference-card indexes."""
    cards = [index for index, kind in enumerate(shot_plan.media_types) if kind in CARD_TYPES]
    return tuple(
        ShotCue(
            shot.number, shot.start, shot.end, shot.text, tuple(cards.index(i) for i in shot.media if i in cards)
        )
        for shot in shot_plan.shots
    )


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def answer(shot_plan: ShotPlan) -> bodies.SandboxShots:
    """The ``sandbox_shots`` field of a task answer (sandbox only)."""
    return bodies.SandboxShots(
        shots=[
            bodies.SandboxShot(
                number=s.number, start=_number(s.start), end=_number(s.end), text=s.text, media=list(s.media)
            )
            for s in shot_plan.shots
        ],
        unparsed=list(shot_plan.unparsed),
    )
