"""Prompt craft in the form (no Gradio here): the shot-list editor's rows and the prompt text kept
in step, and the reference tokens of the attached media.

The prompt is the truth; the editor is a view of it. :func:`editor_from_prompt` reads the
prompt into the editor's overall description and (start, end, text) rows, and
:func:`prompt_from_editor` writes the editor back in the convention of
:mod:`playground.core.shots`. Each answers None when the other side already says the same
thing (compared as shot lists, not as text), so neither echoes the other and a prompt written
by hand in any accepted spelling stays as written until the editor itself is used. Shot lines
whose time range cannot be read never enter the rows: they stay in the prompt, verbatim, and
the editor's note flags them (:func:`shot_note`).

References: :func:`references` lists the attached media that a token names (``Image 2``),
:func:`insert_token` puts a token into the prompt at the cursor (or at the end), and
:func:`token_uses_html` tells the verdict which tokens the prompt uses and what they point to.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from playground.core.profile import Mode, ShotLimits
from playground.core.prompt_checks import check_shots
from playground.core.shots import (
    Language,
    ShotList,
    add_shot,
    from_rows,
    move_shot,
    parse,
    renumbered,
    seconds,
    split_evenly,
    write,
)
from playground.core.tokens import MUST_NAME, TOKEN_TYPES, TokenKind, label, media_labels, resolve
from playground.core.wire import WireFormat, path_of
from playground.ui.forms import request_from_form

HEADERS = ["Start (s)", "End (s)", "Shot"]
Row = list[Any]
# Characters of Chinese text: a prompt in Chinese gets 镜头1 [0-3秒] lines and 图1 tokens.
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# How many of the editor's own writes are remembered, to tell their echo from a hand edit.
_REMEMBERED = 8


# -- the shot-list editor --------------------------------------------------------------------------


def table_rows(value: Any) -> list[Row]:
    """The rows of the editor's table: a list of [start, end, text] (or Gradio's {"data": ...}).

    Blank rows (every cell empty) are dropped; a row with text but no times is kept, so the
    note can say it is not in the prompt yet.
    """
    if isinstance(value, Mapping):
        value = value.get("data")
    if not isinstance(value, list):
        return []
    rows = []
    for row in value:
        if not isinstance(row, list | tuple):
            continue
        cells = [*row, None, None, None][:3]
        if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells):
            continue
        rows.append(cells)
    return rows


def _language(parsed: ShotList, texts: Sequence[str]) -> Language:
    if parsed.is_multi_shot:
        return parsed.language
    return "zh" if any(_CJK.search(text) for text in texts) else "en"


def edited(prompt: str | None, overall: str | None, table: Any) -> ShotList:
    """What the editor says: its overall description and rows, with the prompt's unreadable shot
    lines kept, in the prompt's language (or the editor text's, for a prompt without shots)."""
    rows = table_rows(table)
    parsed = parse(prompt or "")
    language = _language(parsed, [overall or "", *(str(row[2] or "") for row in rows)])
    return from_rows(overall or "", rows, language, parsed.unparsed)


def rows_of(shot_list: ShotList) -> list[Row]:
    """The table's rows for a shot list: whole seconds as integers, so 3 reads "3", not "3.0"."""
    return [[_number(s.start), _number(s.end), s.text] for s in shot_list.shots]


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _same(editor: ShotList, prompt: ShotList) -> bool:
    # The editor numbers its rows 1, 2, ...; a prompt numbered otherwise still says the same shots.
    return editor == renumbered(prompt)


def editor_from_prompt(prompt: str | None, overall: str | None, table: Any) -> tuple[str, list[Row]] | None:
    """The editor's overall description and rows for this prompt, or None when it already shows it."""
    parsed = parse(prompt or "")
    if _same(edited(prompt, overall, table), parsed):
        return None
    return parsed.overall, rows_of(parsed)


def prompt_from_editor(prompt: str | None, overall: str | None, table: Any) -> str | None:
    """The prompt the editor says, or None when the prompt already says the same (kept as written)."""
    result = edited(prompt, overall, table)
    if _same(result, parse(prompt or "")):
        return None
    return write(result)


@dataclass(frozen=True)
class Edit:
    """The outcome of an editor button: the new prompt, and what the editor then shows."""

    prompt: str
    overall: str
    rows: list[Row]
    selected: int = 1  # the row (1-based) that a move left the moved shot in


def _done(result: ShotList, selected: int = 1) -> Edit:
    return Edit(write(result), result.overall, rows_of(result), selected)


def add(prompt: str | None, overall: str | None, table: Any, duration: float) -> Edit:
    """A shot appended after the last (see ``shots.add_shot``)."""
    return _done(add_shot(edited(prompt, overall, table), duration))


def split(prompt: str | None, overall: str | None, table: Any, duration: float) -> Edit:
    """The shots laid end to end over the duration, equally long."""
    return _done(split_evenly(edited(prompt, overall, table), duration))


def move(prompt: str | None, overall: str | None, table: Any, number: int, step: int) -> Edit:
    """Shot ``number`` (1-based) moved ``step`` places (-1 up, +1 down); at an end it stays put."""
    current = edited(prompt, overall, table)
    index = min(max(number, 1), max(len(current.shots), 1)) - 1
    target = min(max(index + step, 0), max(len(current.shots) - 1, 0))
    return _done(move_shot(current, index, target), target + 1)


def remember(recent: Any, text: str) -> list[str]:
    """The editor's recent writes with this one added (a few, newest last)."""
    kept = [t for t in recent if isinstance(t, str)] if isinstance(recent, list) else []
    return [*kept, text][-_REMEMBERED:]


def echo(recent: Any, prompt: str | None) -> tuple[bool, list[str]]:
    """Whether the prompt is one the editor just wrote (its change echoing back), and the
    writes still to be echoed. A write is forgotten once its echo arrives."""
    kept = [t for t in recent if isinstance(t, str)] if isinstance(recent, list) else []
    if prompt is not None and prompt in kept:
        return True, kept[kept.index(prompt) + 1 :]
    return False, []


def shot_note(
    prompt: str | None, table: Any, duration: float | None, limits: ShotLimits, max_chars: int | None = None
) -> str:
    """The editor's note: what the prompt holds as shots, its shot warnings, the lines kept as
    written because their range cannot be read, and table rows not in the prompt yet."""
    text = (prompt or "")[:max_chars] if max_chars else (prompt or "")
    parsed = parse(text)
    incomplete = [number for number, row in enumerate(table_rows(table), 1) if from_rows("", [row]).shots == []]
    parts: list[str] = []
    if parsed.shots:
        first, last = min(s.start for s in parsed.shots), max(s.end for s in parsed.shots)
        count = len(parsed.shots)
        of = f" of a {seconds(duration)} s video" if duration else ""
        parts.append(f"<p>{count} shot{'s' * (count != 1)}, {seconds(first)}-{seconds(last)} s{of}.</p>")
    elif not parsed.unparsed:
        parts.append(
            "<p>No timed shots: the prompt is one description. <em>Add shot</em> starts a shot list "
            "(<code>Shot 1 [0-3s] ...</code>).</p>"
        )
    findings = check_shots(parsed, duration, limits)
    if findings:
        items = "".join(f"<li>{html.escape(p.message)}. <em>Fix:</em> {html.escape(p.fix)}.</li>" for p in findings)
        parts.append(f'<ul class="warnings">{items}</ul>')
    if parsed.unparsed:
        lines = "".join(f"<li><code>{html.escape(_cut(line, 80))}</code></li>" for line in parsed.unparsed)
        parts.append(
            '<div class="unparsed"><strong>Kept in the prompt as written, not in the table</strong> '
            f"(the time range cannot be read):<ul>{lines}</ul></div>"
        )
    if incomplete:
        rows = ", ".join(map(str, incomplete))
        parts.append(
            f'<p class="incomplete">Row{"s" * (len(incomplete) != 1)} {rows} need a start and an end '
            "in seconds; until then they are not in the prompt.</p>"
        )
    css = "shot-note warn" if findings or parsed.unparsed or incomplete else "shot-note"
    return f'<div class="{css}" aria-label="Shot list check">{"".join(parts)}</div>'


# -- reference tokens ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """An attached media item that a token names: its ``media`` index, type, URL and token."""

    index: int
    media_type: str
    url: str
    token: str


def references(mode: Mode, values: Mapping[str, Any]) -> list[Reference]:
    """The form's media items that a token names, in ``media`` order (``Image 1``, ``Video 1``...)."""
    media = request_from_form(mode, values).get("media") or []
    labels = media_labels(mode, [item["type"] for item in media])
    return [
        Reference(index, item["type"], item["url"], token)
        for index, (item, token) in enumerate(zip(media, labels, strict=True))
        if token is not None
    ]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def file_name(url: str) -> str:
    """A short name for a media URL: its last path segment (``character.png``)."""
    try:
        path = urlsplit(url).path
    except ValueError:
        path = url
    return _cut(unquote(path.rstrip("/").rsplit("/", 1)[-1]) or url, 40)


def references_html(mode: Mode, refs: Sequence[Reference], prompt: str | None) -> str:
    """Each attached reference with its token, and whether the prompt names it yet."""
    if mode not in TOKEN_TYPES:
        return ""
    if not refs:
        return (
            '<div class="ref-tokens" aria-label="Reference tokens">Each reference you attach gets a token '
            "(<code>Image 1</code>, <code>Video 1</code>...): name it in the prompt where it should appear.</div>"
        )
    named = {r.media_index for r in resolve(prompt or "", mode, _types(refs))}
    items = []
    for ref in refs:
        if ref.index in named:
            state = "named in the prompt"
        elif ref.media_type in MUST_NAME.get(mode, ()):
            state = '<span class="unnamed">not named in the prompt</span>'
        else:  # video edit's references guide a look; naming them is optional
            state = "not named in the prompt (optional here)"
        items.append(
            f"<li><code>{html.escape(ref.token)}</code> {html.escape(file_name(ref.url))} "
            f"<small>({html.escape(ref.media_type)})</small>: {state}</li>"
        )
    return f'<div class="ref-tokens" aria-label="Reference tokens"><ul>{"".join(items)}</ul></div>'


def _types(refs: Sequence[Reference]) -> list[str]:
    """The media types by index as far as the references tell (other items count as none)."""
    size = max((r.index for r in refs), default=-1) + 1
    types = [""] * size
    for ref in refs:
        types[ref.index] = ref.media_type
    return types


def token_for_prompt(token: str, prompt: str | None) -> str:
    """The token as the prompt's language writes it: ``Image 2``, or ``图2`` in a Chinese prompt."""
    found = re.fullmatch(r"\s*(Image|Video)\s*(\d{1,3})\s*", token, re.IGNORECASE)
    if found is None or not _CJK.search(prompt or ""):
        return token.strip()
    kind: TokenKind = "image" if found.group(1).lower() == "image" else "video"
    return label(kind, int(found.group(2)), "zh")


def insert_token(prompt: str | None, token: str, cursor: int | None) -> str:
    """The prompt with the token inserted at ``cursor`` (a character offset), or at the end when
    the cursor is unknown (None or negative) or past the end; spaces keep it a separate word."""
    text = prompt or ""
    word = token_for_prompt(token, text)
    at = len(text) if cursor is None or cursor < 0 or cursor > len(text) else cursor
    before, after = text[:at], text[at:]
    spaced = not _CJK.search(word)
    if spaced and before and not before[-1].isspace():
        word = " " + word
    if spaced and after and not after[0].isspace() and after[0] not in ",.;:!?)":
        word = word + " "
    return before + word + after


def token_uses_html(mode: Mode, request: Mapping[str, Any], fmt: WireFormat) -> str:
    """For the verdict: each token the prompt uses and the media item it points to (or none)."""
    prompt = str(request.get("prompt") or "")
    media = request.get("media") or []
    types = [str(item.get("type", "")) for item in media]
    resolved = resolve(prompt, mode, types)
    if not resolved:
        return ""
    items = []
    seen: set[tuple[str, str, int | None]] = set()
    for use in resolved:
        token = use.token
        key = (token.label, token.language, use.media_index)
        if key in seen:
            continue
        seen.add(key)
        written = token.label if token.language == "en" else f"{label(token.kind, token.number, 'zh')} ({token.label})"
        if mode not in TOKEN_TYPES:
            target = f"nothing: {html.escape(mode)} takes no references"
        elif use.media_index is None:
            target = '<span class="unnamed">no such media item</span>'
        else:
            index = use.media_index
            target = (
                f"<code>{html.escape(path_of(fmt, ('media', index)))}</code> {html.escape(types[index])} "
                f"({html.escape(file_name(str(media[index].get('url', ''))))})"
            )
        items.append(f"<li><code>{html.escape(written)}</code> → {target}</li>")
    return (
        '<div class="token-uses" aria-label="Tokens in the prompt"><strong>Tokens in the prompt</strong>'
        f"<ul>{''.join(items)}</ul></div>"
    )
