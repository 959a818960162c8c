"""Every state a run can be in, as one closed type.

A run's state is decided by the client (runner, CLI exit codes), stored in the ledger and shown
by the UI (status panel, History). Before this type each of those kept its own list of words,
and the lists drifted; now they all ask :class:`RunState`.

The stored value is the word the ledger has always held (``canceled`` with one l, for rows
written by older versions); :attr:`RunState.label` is what people read ("Cancelled").

Pure: no I/O.
"""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    """A run's state; the value is what the ledger stores, so it compares equal to that string."""

    # In progress: the run's stream goes on.
    VALIDATING = "validating"
    UPLOADING = "uploading"
    # Checked and ready, waiting for a slot of its provider's queue (client/pressure.py):
    # nothing has been sent, so it can be cancelled, or created after a restart, at no cost.
    WAITING = "waiting"
    SUBMITTING = "submitting"
    QUEUED = "queued"
    RUNNING = "running"
    DOWNLOADING = "downloading"
    # Ends: the last event of a run's stream.
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REFUSED = "refused"
    INVALID = "invalid"
    UNREACHABLE = "unreachable"
    OUTCOME_UNKNOWN = "outcome_unknown"
    DEADLINE = "deadline"
    DOWNLOAD_FAILED = "download_failed"
    STALLED = "stalled"
    # The playground itself raised while driving the run (a bug): the task may still be fine.
    CRASHED = "crashed"

    @property
    def terminal(self) -> bool:
        """The run's stream has ended (it may still be resumable)."""
        return self not in _ACTIVE

    @property
    def active(self) -> bool:
        """Work is under way: validating, uploading, submitting, waiting on the task, downloading."""
        return self in _ACTIVE

    @property
    def resumable(self) -> bool:
        """An end that a later resume can still turn into a video: the task may be fine, only it
        (or its result) could not be reached for now. The ledger keeps such runs unfinished."""
        return self in _RESUMABLE

    @property
    def label(self) -> str:
        """The words the UI shows for this state."""
        return _LABELS[self]

    @classmethod
    def parse(cls, value: str | None) -> RunState | None:
        """The state a stored word names, or None for a word this version does not know (a
        ledger row written by a newer version, say), which callers show as it is."""
        try:
            return cls(value) if value is not None else None
        except ValueError:
            return None


_ACTIVE = frozenset({
    RunState.VALIDATING, RunState.UPLOADING, RunState.WAITING, RunState.SUBMITTING, RunState.QUEUED,
    RunState.RUNNING, RunState.DOWNLOADING,
})
_RESUMABLE = frozenset({RunState.STALLED, RunState.DOWNLOAD_FAILED})
_LABELS = {
    RunState.VALIDATING: "Checking the request",
    RunState.UPLOADING: "Uploading files",
    RunState.WAITING: "Waiting in queue",
    RunState.SUBMITTING: "Submitting",
    RunState.QUEUED: "Queued",
    RunState.RUNNING: "Running",
    RunState.DOWNLOADING: "Downloading the video",
    RunState.SUCCEEDED: "Succeeded",
    RunState.FAILED: "Failed",
    RunState.CANCELED: "Cancelled",
    RunState.UNKNOWN: "Unknown task",
    RunState.EXPIRED: "Expired",
    RunState.REFUSED: "Refused",
    RunState.INVALID: "Not sent",
    RunState.UNREACHABLE: "Provider unreachable",
    RunState.OUTCOME_UNKNOWN: "Outcome unknown",
    RunState.DEADLINE: "Deadline passed",
    RunState.DOWNLOAD_FAILED: "Download failed",
    RunState.STALLED: "Stalled",
    RunState.CRASHED: "Crashed (playground bug)",
}

FINAL_STATES = frozenset(s for s in RunState if s.terminal)
RESUMABLE_STATES = _RESUMABLE


def label_of(value: str) -> str:
    """The label for a stored state word; an unknown word is shown as it is."""
    state = RunState.parse(value)
    return state.label if state is not None else value
