"""What is wrong with a request: a location, what is wrong there, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Loc = tuple[str | int, ...]
Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about a request.

    ``loc`` names a field of the request model (``("duration",)``, ``("media", 1, "url")``)
    or, for wire-level findings, starts with ``model``, ``mode``, ``input`` or ``parameters``.
    Wire formats turn it into the JSON path of the body they produce.
    """

    loc: Loc
    message: str
    fix: str
    severity: Severity = "error"

    def line(self, path: str) -> str:
        """One line for people: ``path: what is wrong; how to fix it``."""
        return f"{path}: {self.message}; {self.fix}"


def shown(value: object, limit: int = 80) -> str:
    """A value as a message quotes it: its repr, cut short, so a huge input is not echoed whole."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 4]}...{text[-1]}"


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def warnings(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "warning"]
