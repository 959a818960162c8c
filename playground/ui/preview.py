"""The request preview: the exact wire body and the validation verdict (no Gradio here)."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from playground.core.problems import Loc, Problem
from playground.core.profile import Mode, Profile
from playground.core.rules import CheckOptions, check
from playground.core.wire import WireFormat, path_of, to_wire
from playground.ui.forms import request_from_form
from playground.ui.prompt_craft import token_uses_html


@dataclass(frozen=True)
class Preview:
    """What the preview panel shows for one set of form values."""

    body: dict[str, Any] | None
    problems: tuple[Problem, ...]
    fmt: WireFormat
    missing: frozenset[tuple[Loc, str]] = frozenset()  # findings that say only "not given yet"
    tokens: str = ""  # HTML: the prompt's reference tokens and the media they name (prompt_craft.py)

    @property
    def ok(self) -> bool:
        return self.body is not None and not any(p.severity == "error" for p in self.problems)

    def _still_needed(self, problem: Problem) -> bool:
        """Something not given yet (an empty prompt, no media): a next step, not a mistake."""
        return problem.severity == "error" and (problem.loc, problem.message) in self.missing

    def json_text(self) -> str:
        if self.body is None:
            return "{}"
        return json.dumps(self.body, indent=2, ensure_ascii=False)

    def lines(self) -> list[str]:
        return [p.line(path_of(self.fmt, p.loc)) for p in self.problems]

    def verdict_html(self) -> str:
        """A compact verdict: a green tick, what is still needed, or each problem with its field and fix.

        What the user has not given yet (an empty prompt, no media) is a next step, said calmly:
        a form nobody has touched shows no red. Red is for values that are wrong.
        """
        if not self.problems:
            return f'<div class="verdict ok">✓ Valid request: ready to send{self.tokens}</div>'
        needed = [p for p in self.problems if self._still_needed(p)]
        items = "".join(
            f'<li class="{"todo" if p in needed else p.severity}"><code>{html.escape(path_of(self.fmt, p.loc))}</code> '
            f"{html.escape(p.message)}. <em>{'Next' if p in needed else 'Fix'}:</em> {html.escape(p.fix)}.</li>"
            for p in self.problems
        )
        errors = sum(p.severity == "error" for p in self.problems) - len(needed)
        if errors:
            head, css = f"✗ {errors} problem{'s' * (errors != 1)} to fix before sending", "bad"
        elif needed:
            head, css = "Not ready to send yet: fill in what is still needed", "todo"
        else:
            head, css = "✓ Valid, with warnings", "warn"
        return f'<div class="verdict {css}"><strong>{head}</strong><ul>{items}</ul>{self.tokens}</div>'


def _missing(request: Mapping[str, Any], problems: list[Problem]) -> frozenset[tuple[Loc, str]]:
    """The findings that only say something is not given yet: no prompt, or no media at all."""
    no_prompt = not str(request.get("prompt") or "").strip()
    return frozenset(
        (p.loc, p.message)
        for p in problems
        if (p.loc == ("prompt",) and no_prompt) or (p.loc == ("media",) and " needs " in p.message)
    )


SANDBOX_ONLY_OWN = "the sandbox reads only its own files, not URLs elsewhere"
SANDBOX_FIX = "upload the file instead (its URL is then one of the sandbox's), or choose another provider"


def _urls(request: Mapping[str, Any]) -> Iterator[tuple[Loc, str]]:
    if isinstance(request.get("audio_url"), str):
        yield ("audio_url",), request["audio_url"]
    for index, item in enumerate(request.get("media") or ()):
        yield ("media", index, "url"), item["url"]
        if item.get("reference_voice"):
            yield ("media", index, "reference_voice"), item["reference_voice"]


def _loopback(host: str) -> bool:
    return host in ("localhost", "127.0.0.1", "::1", "[::1]")


def sandbox_url_problems(request: Mapping[str, Any], sandbox_url: str) -> list[Problem]:
    """URLs the sandbox at ``sandbox_url`` will refuse: it never fetches a file from elsewhere.

    The sandbox reads its own files (what an upload returns), data: URIs and its temporary
    uploads (oss://); an http(s) URL of any other host fails at the task, seconds after Send.
    """
    own = urlsplit(sandbox_url)
    found: list[Problem] = []
    for loc, url in _urls(request):
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            continue  # not a URL at all: the rules say so
        if parts.scheme not in ("http", "https"):
            continue
        host = (parts.hostname or "").lower()
        same = parts.netloc.lower() == own.netloc.lower() or (
            _loopback(host) and _loopback((own.hostname or "").lower()) and port == own.port
        )
        if not same:
            where = parts.netloc[:80] or "no host"
            found.append(Problem(loc, f"{SANDBOX_ONLY_OWN} ({where})", SANDBOX_FIX))
    return found


def build_preview(
    mode: Mode,
    values: Mapping[str, Any],
    fmt: WireFormat,
    profile: Profile,
    options: CheckOptions | None = None,
    sandbox_url: str | None = None,
) -> Preview:
    """Form values -> the body that Send would post, with every finding.

    ``sandbox_url``: the request goes to this sandbox, so a URL of another host is flagged now.
    """
    request = request_from_form(mode, values)
    verdict = check(request, profile, options)
    problems = list(verdict.problems)
    if sandbox_url is not None:
        problems += sandbox_url_problems(request, sandbox_url)
    body = to_wire(fmt, verdict.request, profile) if verdict.request is not None else None
    return Preview(body, tuple(problems), fmt, _missing(request, problems), token_uses_html(mode, request, fmt))
