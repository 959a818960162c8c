"""One file against one media limit: the check the client runs before an upload and the sandbox
runs before a render, written once so the two cannot drift.

The probe reads what the file really holds (probe.py); the limit comes from the profile. An
image is sized from its header against the limit's longest side before any pixel is decoded,
so an oversized picture costs nothing whoever checks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playground.core.modes import MediaLimit
from playground.core.problems import Loc, Problem
from playground.media.probe import MediaError, MediaInfo, OversizeImage, check_media, probe


@dataclass(frozen=True)
class FileVerdict:
    """What a file is and what it breaks.

    ``unreadable`` is set when the file cannot be used as media at all (missing, empty,
    damaged, not media: one line saying which); ``problems`` are the limits it breaks, each
    with its fix (warnings included, e.g. a length that could not be read).
    """

    info: MediaInfo | None
    unreadable: str | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def ok(self) -> bool:
        return self.unreadable is None and not self.errors


def check_file(path: Path, limit: MediaLimit | None, loc: Loc) -> FileVerdict:
    """Probe ``path`` and judge it against ``limit`` (None: only that it is readable media).

    Blocking (PyAV, Pillow): call it from a thread when an event loop is waiting.
    """
    max_side = limit.max_side if limit is not None and limit.kind == "image" else None
    try:
        info = probe(path, max_side=max_side)
    except OversizeImage as exc:
        return FileVerdict(None, problems=(Problem(loc, exc.problem, exc.fix),))
    except MediaError as exc:
        return FileVerdict(None, unreadable=str(exc))
    except OSError as exc:  # gone or unreadable between the probe's own checks and its read
        return FileVerdict(None, unreadable=f"{Path(path).name} cannot be read: {exc.strerror or exc}")
    problems = tuple(check_media(info, limit, loc)) if limit is not None else ()
    return FileVerdict(info, problems=problems)
