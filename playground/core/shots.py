"""The multi-shot convention of Wan 2.7 prompts: an overall description, then timed shot lines.

    A rainy night in a neon city, cinematic, shallow depth of field.
    Shot 1 [0-3s] Wide shot: the street, cars hissing past.
    Shot 2 [3-5s] Close-up: a hand opens a red umbrella.

Chinese prompts use the same shape, ``镜头1 [0-3秒] 全景, 雨夜的街头`` (also written
``第1个镜头 [0-3 秒]``). Wan 2.7 has no shot parameter (2.6's ``shot_type`` is gone): shots exist
only in the text, which is why the playground reads them back to check them. Sources: Alibaba
Model Studio's text-to-video guide (multi-shot narrative, wan2.7 and wan2.6: ``Shot 1 ...``), and
the Wan 2.7 API pages of gateways that document the timed form (``第 1 个镜头 [0-3 秒] 全景...``).

:func:`parse` reads what people write: any case of ``shot``, spaces or none, a colon after the
marker or the range, ``s``/``sec``/``秒`` or no unit, a hyphen or dash, ``~``, ``to`` or ``至`` between
the times, and square, full-width or lenticular brackets. A marker starts a shot at the start of
a line, or anywhere when a bracket follows it (so one-paragraph prompts parse too). A line that
starts like a shot but whose time range cannot be read is kept verbatim in
:attr:`ShotList.unparsed`: nothing written is ever lost.

:func:`write` produces the canonical text: the overall description, then one line per shot
(``Shot 1 [0-3s] text`` or ``镜头1 [0-3秒] text``), then the unparsed lines. For canonical text
``write(parse(text)) == text``, and ``parse(write(shots)) == shots`` for any shot list whose texts
hold no shot marker of their own.

Pure: regular expressions only; every pattern runs in time linear in the prompt's length.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "zh")

# Spaces inside one line (ASCII and the ideographic space of Chinese text).
_SP = r"[ \t\u3000]*"
# A shot marker: "Shot 3", "shot #3", "镜头3", "第3个镜头", "第3镜". English markers must not
# continue a word ("Screenshot 2" is not a shot). No two adjacent quantifiers can share input,
# so a failing match never backtracks quadratically.
_MARKER = re.compile(
    rf"(?:(?<![A-Za-z0-9])(?i:shot){_SP}(?:#{_SP})?(?P<en>\d{{1,4}})"
    rf"|镜头{_SP}(?P<zh>\d{{1,4}})"
    rf"|第{_SP}(?P<zh2>\d{{1,4}}){_SP}(?:个{_SP})?镜头?)"
    r"(?!\d)"
)
_NUM = r"\d{1,9}(?:\.\d{1,20})?"
_UNIT = r"(?i:seconds?|secs?|s|秒钟?)"
_DASH = r"(?i:-|–|—|−|~|～|〜|to|至|到)"
_OPEN = "[\\[【［(（]"
_CLOSE = "[\\]】］)）]"
_COLON = rf"(?:[:：]{_SP})?"
# What may follow a marker: an optional colon, then the time range, then an optional colon.
_TIMED = re.compile(
    rf"{_SP}{_COLON}{_OPEN}{_SP}(?P<start>{_NUM}){_SP}(?:{_UNIT}{_SP})?{_DASH}{_SP}"
    rf"(?P<end>{_NUM}){_SP}(?:{_UNIT}{_SP})?{_CLOSE}{_SP}(?:[:：])?"
)
# A marker followed by a square bracket is an attempt at a time range, even one that fails.
_BRACKET_AHEAD = re.compile(rf"{_SP}{_COLON}[\[【［]")
# What may stand before a marker at the start of a line: indentation and a list bullet.
_LINE_PREFIX = re.compile(rf"{_SP}(?:[-*•·]{_SP})?")

_WORDS: dict[Language, tuple[str, str]] = {"en": ("Shot ", "s"), "zh": ("镜头", "秒")}


@dataclass(frozen=True)
class Shot:
    """One timed shot: seconds from the start of the video, its description, and its number."""

    start: float
    end: float
    text: str
    number: int

    @property
    def length(self) -> float:
        return self.end - self.start

    def label(self, language: Language = "en") -> str:
        """The shot's marker and range as :func:`write` spells them: ``Shot 2 [3-5s]``."""
        word, unit = _WORDS[language]
        return f"{word}{self.number} [{seconds(self.start)}-{seconds(self.end)}{unit}]"


@dataclass(frozen=True)
class ShotList:
    """A prompt read as shots: the overall description, the shots in written order, and every
    line that starts like a shot but could not be read (verbatim)."""

    overall: str = ""
    shots: list[Shot] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)
    # The language of the first marker; how write() spells markers unless told. Presentation
    # only, so it takes no part in equality.
    language: Language = field(default="en", compare=False)

    @property
    def is_multi_shot(self) -> bool:
        return bool(self.shots or self.unparsed)

    def rows(self) -> list[tuple[float, float, str]]:
        """(start, end, text) per shot: what an editor's table shows."""
        return [(s.start, s.end, s.text) for s in self.shots]


def seconds(value: float) -> str:
    """A time as the convention writes it: ``3``, ``2.5``, the shortest text that reads back exactly."""
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = repr(float(value))
    if "e" in text:
        text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text


@dataclass(frozen=True)
class _Found:
    cut: int  # where the segment begins (its line's start when the marker opens a line)
    marker: int  # where the marker itself begins
    body: int  # where the shot's text begins (after the marker and range)
    number: int
    language: Language
    times: tuple[float, float] | None


def _markers(prompt: str) -> list[_Found]:
    found: list[_Found] = []
    line_start, scanned = 0, 0
    for match in _MARKER.finditer(prompt):
        newline = prompt.rfind("\n", scanned, match.start())
        if newline >= 0:
            line_start = newline + 1
        scanned = match.start()
        at_line_start = _LINE_PREFIX.fullmatch(prompt, line_start, match.start()) is not None
        language: Language = "en" if match.group("en") is not None else "zh"
        number = int(match.group("en") or match.group("zh") or match.group("zh2"))
        timed = _TIMED.match(prompt, match.end())
        cut = line_start if at_line_start else match.start()
        if timed is not None:
            times = (float(timed.group("start")), float(timed.group("end")))
            found.append(_Found(cut, match.start(), timed.end(), number, language, times))
        elif at_line_start or _BRACKET_AHEAD.match(prompt, match.end()):
            found.append(_Found(cut, match.start(), match.end(), number, language, None))
    return found


def parse(prompt: str) -> ShotList:
    """Read a prompt into its overall description, shots and unreadable shot lines."""
    found = _markers(prompt)
    if not found:
        return ShotList(prompt.strip())
    shots: list[Shot] = []
    unparsed: list[str] = []
    ends = [f.cut for f in found[1:]] + [len(prompt)]
    for item, end in zip(found, ends, strict=True):
        if item.times is None:
            unparsed.append(prompt[item.cut : end].strip())
        else:
            shots.append(Shot(item.times[0], item.times[1], prompt[item.body : end].strip(), item.number))
    return ShotList(prompt[: found[0].cut].strip(), shots, unparsed, found[0].language)


def write(shot_list: ShotList, language: Language | None = None) -> str:
    """The canonical prompt text: overall description, one line per shot, then unparsed lines."""
    language = language or shot_list.language
    lines = [shot_list.overall] if shot_list.overall else []
    for shot in shot_list.shots:
        lines.append(f"{shot.label(language)} {shot.text}" if shot.text else shot.label(language))
    lines += [line for line in shot_list.unparsed if line]
    return "\n".join(lines)


def unreadable(shot_list: ShotList) -> list[str]:
    """Unparsed lines worth a warning: all of them beside timed shots, else those that tried a range.

    A prompt of untimed shots only (``Shot 1 The camera...``, the form of Alibaba's own guide)
    is a legitimate style, so untimed lines alone are not flagged.
    """
    if shot_list.shots:
        return list(shot_list.unparsed)
    flagged = []
    for line in shot_list.unparsed:
        marker = _MARKER.search(line)
        if marker is not None and _BRACKET_AHEAD.match(line, marker.end()):
            flagged.append(line)
    return flagged


def from_rows(
    overall: str, rows: Iterable[Sequence[object]], language: Language = "en", unparsed: Sequence[str] = ()
) -> ShotList:
    """A shot list from an editor's (start, end, text) rows, numbered 1, 2, ... in row order.

    Rows whose times are not numbers are skipped; an editor shows them as incomplete.
    """
    shots: list[Shot] = []
    for row in rows:
        start, end, text = ([*row, None, None, None])[:3]
        times = (_time(start), _time(end))
        if times[0] is None or times[1] is None:
            continue
        shots.append(Shot(times[0], times[1], str(text or "").strip(), len(shots) + 1))
    return ShotList(overall.strip(), shots, list(unparsed), language)


_CELL_TIME = re.compile(rf"{_SP}(?P<value>{_NUM}){_SP}(?:{_UNIT}{_SP})?")


def _time(value: object) -> float | None:
    """A time from an editor cell: a number, or text such as ``3``, ``2.5``, ``3s``, ``3 秒``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) and value >= 0 else None
    match = _CELL_TIME.fullmatch(str(value)) if isinstance(value, str) else None
    return float(match.group("value")) if match else None


def renumbered(shot_list: ShotList) -> ShotList:
    """The same shots numbered 1, 2, ... in written order."""
    shots = [replace(shot, number=index) for index, shot in enumerate(shot_list.shots, 1)]
    return replace(shot_list, shots=shots)


def _tenth(value: float) -> float:
    return round(value, 1) + 0.0  # + 0.0 turns -0.0 into 0.0


def split_evenly(shot_list: ShotList, duration: float) -> ShotList:
    """The shots laid end to end over ``duration``, equally long (to a tenth of a second), renumbered."""
    count = len(shot_list.shots)
    if count == 0 or duration <= 0:
        return renumbered(shot_list)
    bounds = [_tenth(duration * i / count) for i in range(count)] + [float(duration)]
    shots = [
        Shot(bounds[i], bounds[i + 1], shot.text, i + 1) for i, shot in enumerate(shot_list.shots)
    ]
    return replace(shot_list, shots=shots)


def add_shot(shot_list: ShotList, duration: float, text: str = "") -> ShotList:
    """A shot appended after the last: it takes the time left, or the second half of the last shot."""
    shots = list(shot_list.shots)
    start = max((s.end for s in shots), default=0.0)
    if start < duration:
        shots.append(Shot(start, float(duration), text, len(shots) + 1))
    elif shots:
        last = shots[-1]
        middle = _tenth((last.start + last.end) / 2)
        shots[-1] = replace(last, end=middle)
        shots.append(Shot(middle, last.end, text, len(shots) + 1))
    else:
        shots.append(Shot(0.0, float(max(duration, 1)), text, 1))
    return renumbered(replace(shot_list, shots=shots))


def move_shot(shot_list: ShotList, index: int, to: int) -> ShotList:
    """Move one shot to another place in the order; each keeps its length, the shots are laid end
    to end from where the first one started, and renumbered."""
    shots = list(shot_list.shots)
    if not (0 <= index < len(shots) and 0 <= to < len(shots)):
        return shot_list
    shots.insert(to, shots.pop(index))
    cursor = min((s.start for s in shots), default=0.0)
    laid = []
    for number, shot in enumerate(shots, 1):
        end = round(cursor + max(shot.length, 0.0), 3) + 0.0
        laid.append(Shot(cursor, end, shot.text, number))
        cursor = end
    return replace(shot_list, shots=laid)
