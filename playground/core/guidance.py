"""The guidance table: what each failure means, how to fix it, and whether to retry.

The table is data (``guidance.json`` next to this module). The client's retry behaviour is
read from the same entries that the CLI and the UI show, so the advice a user reads and what
the playground does can never disagree: :meth:`RetryPolicy.summary` writes the "retry" line
from the very numbers the client uses.

Lookups, most specific first:

* :meth:`Guidance.for_refusal`: an HTTP error answer, by message (the FAQ cases such as
  ``invalid api type: -1``), then provider code with status, then code alone, then status,
  then the status class (4xx / 5xx), then "unreadable answer".
* :meth:`Guidance.for_transport`: ``connect`` (nothing sent), ``timeout`` or ``dropped``.
* :meth:`Guidance.for_task`: a task that ended badly, by task-level code, then by state.
* :meth:`Guidance.entry`: by id, for the cases the client recognises itself.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Kind = Literal["refusal", "transport", "task", "client"]
OnCreate = Literal["retry", "stop", "outcome_unknown"]
TransportKind = Literal["connect", "timeout", "dropped"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetryPolicy(_Frozen):
    """Whether and how to send a request again after this failure.

    ``max_attempts`` counts the first try. A wait is ``min(cap_s, base_s * 2**(n-1))`` plus up
    to ``jitter`` seconds at random, where ``n`` is the retry number; a ``Retry-After`` the
    server sends replaces it when ``honour_retry_after`` is set and it is within
    ``retry_after_cap_s`` (a longer one means "not now": no retry).
    """

    retry: bool
    max_attempts: int = Field(default=1, ge=1, le=10)
    backoff: Literal["exponential", "none"] = "none"
    base_s: float = Field(default=0.0, ge=0.0)
    cap_s: float = Field(default=0.0, ge=0.0)
    jitter: float = Field(default=0.0, ge=0.0)
    honour_retry_after: bool = False
    retry_after_cap_s: float = Field(default=60.0, ge=0.0)
    on_create: OnCreate = "stop"

    @model_validator(mode="after")
    def _coherent(self) -> RetryPolicy:
        if self.retry and self.max_attempts < 2:
            raise ValueError("a retried failure needs max_attempts of at least 2")
        if not self.retry and self.on_create == "retry":
            raise ValueError("on_create 'retry' needs retry: true")
        return self

    def allows(self, attempts_made: int, *, is_create: bool) -> bool:
        """Whether one more attempt is allowed after ``attempts_made`` failed ones."""
        if not self.retry or attempts_made >= self.max_attempts:
            return False
        return not is_create or self.on_create == "retry"

    def delay_s(self, retry_number: int, retry_after_s: float | None = None, rand: float = 0.0) -> float | None:
        """Seconds to wait before retry ``retry_number`` (1-based), or None to give up.

        ``rand`` is a number in [0, 1) supplied by the caller, so this stays deterministic.
        """
        if self.honour_retry_after and retry_after_s is not None and retry_after_s >= 0:
            return float(retry_after_s) if retry_after_s <= self.retry_after_cap_s else None
        if self.backoff == "none":
            return 0.0
        return min(self.cap_s, self.base_s * 2.0 ** (retry_number - 1)) + self.jitter * rand

    def planned_waits(self) -> list[float]:
        """The waits without jitter or Retry-After, one per retry."""
        if not self.retry:
            return []
        return [self.delay_s(n) or 0.0 for n in range(1, self.max_attempts)]

    def summary(self) -> str:
        """The retry advice in one sentence, written from the numbers the client uses."""
        if not self.retry:
            return "Retry: no automatic retry; change what the fix says first."
        waits = " / ".join(_seconds(w) for w in self.planned_waits())
        text = f"Retry: automatic, up to {self.max_attempts} attempts in all, waiting {waits}"
        if self.jitter:
            text += f" plus up to {_seconds(self.jitter)} of jitter"
        if self.honour_retry_after:
            text += f"; a Retry-After from the server (up to {_seconds(self.retry_after_cap_s)}) is obeyed instead"
        text += "."
        if self.on_create == "outcome_unknown":
            text += " A create request is not sent again: it may already have started a task."
        return text


class Match(_Frozen):
    """Which failures an entry describes; an empty match is reached by id only."""

    message: tuple[str, ...] = ()
    status: tuple[int, ...] = ()
    codes: tuple[str, ...] = ()
    status_class: int | None = None
    without_provider_error: bool = False
    transport: tuple[TransportKind, ...] = ()
    task_codes: tuple[str, ...] = ()
    task_status: tuple[str, ...] = ()
    wire: tuple[str, ...] = ()


class Entry(_Frozen):
    """One failure: what happened, how to fix it, the retry policy, what the playground did."""

    id: str
    kind: Kind
    title: str
    match: Match
    trigger: str
    fix: str
    retry: RetryPolicy
    did: str
    # False where there is nothing to change before trying again (a cancelled task, an expired
    # result): the "Retry:" line would only repeat the fix, so it is left out.
    retry_line: bool = True

    @model_validator(mode="after")
    def _no_placeholders(self) -> Entry:
        # Only "did" is a template (filled by did_text); a brace anywhere else would be shown
        # to people as it is, e.g. a literal "{base}".
        for name in ("title", "trigger", "fix"):
            if re.search(r"[{}]", getattr(self, name)):
                raise ValueError(f"guidance {self.id}: {name} holds a brace; only 'did' is a template")
        return self

    def did_text(self, **facts: object) -> str:
        """The "what the playground did" sentence with the run's facts filled in."""
        # A fact the run does not have (None) reads as unknown, never as "None".
        values = {"max_attempts": self.retry.max_attempts, **{k: v for k, v in facts.items() if v is not None}}
        return string.Formatter().vformat(self.did, (), _Blank(values)).strip()

    def retry_text(self) -> str | None:
        """The "Retry:" line, or None where the entry leaves it out."""
        return self.retry.summary() if self.retry_line else None

    def lines(self, **facts: object) -> list[str]:
        """The entry for people, one line per part."""
        retry = self.retry_text()
        return [
            f"{self.title} [{self.id}]",
            f"What happened: {self.trigger}",
            f"How to fix it: {self.fix}",
            *([retry] if retry else []),
            f"What the playground did: {self.did_text(**facts)}",
        ]


REHEARSED = "Rehearsed: "


def rehearsal_note(scenario: str) -> str:
    """What a rehearsed failure adds to its "what the playground did" line."""
    return (f"This was a rehearsal: the sandbox's \u201c{scenario.replace('_', ' ')}\u201d scenario made it happen "
            "on purpose; nothing is wrong with your request or key.")


def rehearsed_lines(lines: list[str], scenario: str) -> list[str]:
    """An entry's lines (:meth:`Entry.lines`) marked as a rehearsal of ``scenario``."""
    if not lines:
        return lines
    marked = [REHEARSED + lines[0], *lines[1:]]
    marked[-1] = f"{marked[-1]} {rehearsal_note(scenario)}"
    return marked


class _Blank(dict[str, object]):
    # A template may name a fact the caller does not have; show that it is unknown.
    def __missing__(self, key: str) -> str:
        return "(unknown)"


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _code_matches(patterns: tuple[str, ...], code: str | None, *, exact: bool) -> bool:
    """Whether a provider code matches: exactly, or (``exact=False``) a ``Prefix.*`` pattern."""
    if not code:
        return False
    folded = code.casefold()
    for pattern in (p.casefold() for p in patterns):
        if exact and pattern == folded:
            return True
        if not exact and pattern.endswith(".*") and folded.startswith(pattern[:-1]):
            return True
    return False


class Guidance(_Frozen):
    """The whole table, with the lookups the client and the UI use."""

    entries: tuple[Entry, ...]
    about: str = ""

    @model_validator(mode="after")
    def _unique(self) -> Guidance:
        ids = [e.id for e in self.entries]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate guidance ids: {', '.join(sorted(dupes))}")
        for needed in _REQUIRED_IDS:
            if needed not in ids:
                raise ValueError(f"the guidance table needs an entry {needed!r}")
        return self

    def entry(self, entry_id: str) -> Entry:
        for e in self.entries:
            if e.id == entry_id:
                return e
        raise KeyError(entry_id)

    def _of(self, kind: Kind) -> list[Entry]:
        return [e for e in self.entries if e.kind == kind]

    def for_refusal(
        self,
        status: int,
        code: str | None = None,
        message: str | None = None,
        *,
        wire: str | None = None,
        has_provider_error: bool = True,
    ) -> Entry:
        """The entry for an HTTP error answer (or an unreadable 2xx, with status 0)."""
        candidates = [e for e in self._of("refusal") if not e.match.wire or wire in e.match.wire]
        text = f"{code or ''} {message or ''}".casefold()
        for e in candidates:
            if any(m.casefold() in text for m in e.match.message):
                return e
        # An exact code beats a Prefix.* pattern, a code under its usual status beats the
        # status alone, and the status alone beats a code seen under an unusual status (a 404
        # "InvalidURL" is a wrong path, not an unreachable media URL).
        for exact in (True, False):
            for e in candidates:
                if status in e.match.status and _code_matches(e.match.codes, code, exact=exact):
                    return e
        if not has_provider_error:
            for e in candidates:
                if e.match.without_provider_error and status in e.match.status:
                    return e
        for e in candidates:
            if status in e.match.status and not e.match.without_provider_error:
                return e
        for exact in (True, False):
            for e in candidates:
                if _code_matches(e.match.codes, code, exact=exact):
                    return e
        for e in candidates:
            if e.match.status_class is not None and e.match.status_class == status // 100:
                return e
        return self.entry("unexpected_response")

    def for_transport(self, kind: TransportKind) -> Entry:
        """The entry for a request that got no HTTP answer at all."""
        for e in self._of("transport"):
            if kind in e.match.transport:
                return e
        raise KeyError(kind)

    def for_task(self, state: str, code: str | None = None) -> Entry:
        """The entry for a task that ended without a video (``failed``, ``unknown``, ...)."""
        tasks = self._of("task")
        for exact in (True, False):
            for e in tasks:
                if _code_matches(e.match.task_codes, code, exact=exact):
                    return e
        for e in tasks:
            if state in e.match.task_status:
                return e
        return self.entry("task_failed")


_REQUIRED_IDS = (
    "unexpected_response", "task_failed", "outcome_unknown", "deadline_passed", "connect_failed",
    "read_timeout", "chat_endpoint", "task_charged_chat", "download_failed", "result_expired",
    "local_file_needs_url", "upload_failed", "invalid_request", "run_crashed", "local_file_region",
    "budget_exceeded", "connection_incomplete", "queue_full", "sandbox_foreign_file",
)


def parse_guidance(raw: Mapping[str, object]) -> Guidance:
    """A guidance table from its JSON object (validated)."""
    return Guidance.model_validate(raw)


@lru_cache(maxsize=1)
def load_guidance() -> Guidance:
    """The built-in guidance table (read once; it is immutable)."""
    text = resources.files(__package__).joinpath("guidance.json").read_text("utf-8")
    return Guidance.model_validate_json(text)
