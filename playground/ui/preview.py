"""The request preview: the exact wire body and the validation verdict (no Gradio here)."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from playground.core.problems import Problem
from playground.core.profile import Mode, Profile
from playground.core.rules import CheckOptions, check
from playground.core.wire import WireFormat, path_of, to_wire
from playground.ui.forms import request_from_form


@dataclass(frozen=True)
class Preview:
    """What the preview panel shows for one set of form values."""

    body: dict[str, Any] | None
    problems: tuple[Problem, ...]
    fmt: WireFormat

    @property
    def ok(self) -> bool:
        return self.body is not None and not any(p.severity == "error" for p in self.problems)

    def json_text(self) -> str:
        if self.body is None:
            return "{}"
        return json.dumps(self.body, indent=2, ensure_ascii=False)

    def lines(self) -> list[str]:
        return [p.line(path_of(self.fmt, p.loc)) for p in self.problems]

    def verdict_html(self) -> str:
        """A compact verdict: a green tick, or each problem with its field and fix."""
        if not self.problems:
            return '<div class="verdict ok">✓ Valid request: ready to send</div>'
        items = "".join(
            f'<li class="{p.severity}"><code>{html.escape(path_of(self.fmt, p.loc))}</code> '
            f"{html.escape(p.message)}. <em>Fix:</em> {html.escape(p.fix)}.</li>"
            for p in self.problems
        )
        errors = sum(p.severity == "error" for p in self.problems)
        head = f"✗ {errors} problem{'s' * (errors != 1)} to fix before sending" if errors else "✓ Valid, with warnings"
        css = "bad" if errors else "warn"
        return f'<div class="verdict {css}"><strong>{head}</strong><ul>{items}</ul></div>'


def build_preview(
    mode: Mode, values: Mapping[str, Any], fmt: WireFormat, profile: Profile, options: CheckOptions | None = None
) -> Preview:
    """Form values -> the body that Send would post, with every finding."""
    verdict = check(request_from_form(mode, values), profile, options)
    body = to_wire(fmt, verdict.request, profile) if verdict.request is not None else None
    return Preview(body, tuple(verdict.problems), fmt)
