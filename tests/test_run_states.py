"""One closed set of run states, with what each means, decided and shown in one place."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from playground.client import RunCrashed, RunState, TaskFailed
from playground.client.cli import _EXIT_FOR_STATE, EXIT_DEADLINE, EXIT_REFUSED, exit_code
from playground.client.ledger import RunRecord
from playground.client.run_state import final_state
from playground.core.guidance import load_guidance
from playground.core.run_states import FINAL_STATES, RESUMABLE_STATES, label_of
from playground.ui import history_views
from playground.ui.views import RunView, status_html

PACKAGE = Path(__file__).resolve().parents[1] / "playground"
# The words the ledger holds (rows written by earlier versions included): none may change.
STORED = {
    "validating", "uploading", "waiting", "submitting", "queued", "running", "downloading", "succeeded", "failed",
    "canceled",
    "unknown", "expired", "refused", "invalid", "unreachable", "outcome_unknown", "deadline", "download_failed",
    "stalled", "crashed",
}


def test_the_values_are_the_words_the_ledger_has_always_stored() -> None:
    assert {state.value for state in RunState} == STORED
    assert RunState("canceled") == "canceled" and RunState.CANCELED.label == "Cancelled"
    assert RunState.parse("a word from a newer version") is None and label_of("a word from a newer version") == (
        "a word from a newer version"
    )


def test_every_state_is_either_under_way_or_an_end_and_only_ends_resume() -> None:
    for state in RunState:
        assert state.active != state.terminal, state
        assert not state.resumable or state.terminal, state
        assert state.label, state
    assert {s for s in RunState if s.terminal} == FINAL_STATES
    assert {RunState.STALLED, RunState.DOWNLOAD_FAILED} == RESUMABLE_STATES
    assert RunState.CRASHED.terminal and not RunState.CRASHED.resumable
    assert len({state.label for state in RunState}) == len(RunState), "two states must not read the same"


@pytest.mark.parametrize("state", sorted(FINAL_STATES), ids=str)
def test_every_end_has_its_own_exit_code(state: RunState) -> None:
    """No end falls through to the default: each is in the table the README describes."""
    assert state in _EXIT_FOR_STATE, state
    assert exit_code(state.value) == _EXIT_FOR_STATE[state]


def test_a_crashed_run_exits_like_one_whose_task_may_still_exist() -> None:
    assert exit_code("crashed") == EXIT_DEADLINE and exit_code("refused") == EXIT_REFUSED


def test_the_runner_decides_ends_as_run_states() -> None:
    crash = RunCrashed(RuntimeError("oops"), task_id="t-1")
    assert final_state(crash, task_exists=True) is RunState.CRASHED
    assert crash.guidance is load_guidance().entry("run_crashed") and "t-1" in crash.did()
    canceled = TaskFailed(state="canceled", code=None, message=None, task_id="t-2",
                          guidance=load_guidance().entry("task_failed"))
    assert final_state(canceled, task_exists=True) is RunState.CANCELED


def test_the_ui_shows_labels_and_filters_by_state() -> None:
    assert ">Cancelled<" in status_html(RunView(state="canceled", timeline=[("canceled", "12:00:00.000")]))
    assert "Crashed (playground bug)" in status_html(RunView(state="crashed"))

    def record(run_id: str, state: str, finished: int) -> RunRecord:
        return RunRecord(run_id=run_id, created_at=1.0, updated_at=1.0, provider="sandbox", wire="dashscope",
                         base_url="http://x", state=state, finished=finished)

    records = [record("a", "running", 0), record("b", "stalled", 0), record("c", "crashed", 1),
               record("d", "download_failed", 0), record("e", "canceled", 1)]
    assert [r[-1] for r in history_views.rows(records, None, "active")] == ["a", "b", "d"]
    assert [r[-1] for r in history_views.rows(records, None, "crashed")] == ["c"]
    assert history_views.row(records[4])[3] == "Cancelled"


def test_no_module_keeps_its_own_list_of_state_words() -> None:
    """A tuple, list, set or dict display with three or more run-state words is a second copy."""
    owners = {PACKAGE / "core" / "run_states.py", PACKAGE / "core" / "contract.py", PACKAGE / "core" / "polling.py"}
    copies = []
    for path in PACKAGE.rglob("*.py"):
        if path in owners or "sandbox" in path.parts or path.name == "snippets.py":
            continue  # provider status words (the contract's) are not run states
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
            if not isinstance(node, ast.Dict | ast.Tuple | ast.List | ast.Set) or items is None:
                continue
            words = {n.value for n in items if isinstance(n, ast.Constant) and isinstance(n.value, str)}
            if len(words & (STORED - {"queued", "running", "succeeded", "failed", "canceled", "unknown"})) >= 3:
                copies.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not copies, copies
