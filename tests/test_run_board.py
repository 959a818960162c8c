"""The run board: a run whose driving raises (a playground bug) ends ``crashed``, with guidance,
in the ledger and for its watchers, instead of staying frozen at its last status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from playground.client import Ledger, RetryNote, RunBoard, RunEvent, RunOptions, RunState, VideoClient, run
from playground.client.api import StatusRead
from playground.client.providers import ProviderConfig
from tests.fixtures_client import FAST, T2V, sandbox_provider

pytestmark = pytest.mark.usefixtures("no_backoff")


class BuggyClient(VideoClient):
    """A real client to the sandbox that hits a bug on its second status read, after the task
    was created and polled once: the shape of a crash half way through a paid task."""

    reads = 0

    async def status(self, task_id: str) -> StatusRead:
        self.reads += 1
        if self.reads == 2:
            raise ZeroDivisionError("division by zero in a status reader")
        return await super().status(task_id)


def buggy(provider: ProviderConfig, on_retry: Callable[[RetryNote], None]) -> VideoClient:
    return BuggyClient(provider, on_retry=on_retry)


async def watched(board: RunBoard, run_id: str) -> list[RunEvent]:
    return [event async for event in board.watch(run_id)]


async def test_a_run_that_raises_half_way_ends_crashed_with_guidance(sandbox_base: str, ledger: Ledger,
                                                                     tmp_path: Path) -> None:
    provider = sandbox_provider(sandbox_base)
    stream = run(T2V, provider, ledger, tmp_path / "out", options=RunOptions(schedule=FAST, client_factory=buggy))
    board = RunBoard()
    run_id = await board.start(stream, provider=provider, ledger=ledger)
    events = await asyncio.wait_for(watched(board, run_id), 30)

    last = events[-1]
    assert last.state is RunState.CRASHED and last.terminal, [e.state for e in events]
    assert [e.state for e in events[:-1]].count(RunState.QUEUED) >= 1, "it crashed after the task was created"
    assert last.task_id and last.guidance_id == "run_crashed"
    assert "ZeroDivisionError" in last.message
    text = "\n".join(last.guidance)
    assert "the playground hit a bug" in text.lower()
    assert "recover it by its task id" in text and "python -m playground submit --recover TASK_ID" in text
    assert last.timeline[-1][0] == RunState.CRASHED
    assert run_id not in board.running()

    record = ledger.get(run_id)
    assert record is not None
    assert (record.state, record.finished, record.guidance_id) == ("crashed", 1, "run_crashed")
    assert record.task_id == last.task_id and record.owner is None
    assert record.guidance_text is not None and "recover it by its task id" in record.guidance_text
    assert ledger.events(run_id)[-1].state == "crashed"
    assert ledger.unfinished() == [], "a crashed run is not picked up again at start-up"

    # A watcher arriving late (a browser refresh) sees the same end.
    again = await asyncio.wait_for(watched(board, run_id), 5)
    assert again[-1].state is RunState.CRASHED


async def test_a_crash_is_shown_even_without_a_ledger_to_record_it() -> None:
    """Without a ledger to write to, the watchers still learn how the run ended."""

    async def events() -> AsyncIterator[RunEvent]:
        yield RunEvent(run_id="run-x", state=RunState.RUNNING, message="running", task_id="task-x")
        raise KeyError("a bug")

    board = RunBoard()
    run_id = await board.start(events())
    seen = await asyncio.wait_for(watched(board, run_id), 5)
    assert [e.state for e in seen] == [RunState.RUNNING, RunState.CRASHED]
    assert seen[-1].task_id == "task-x" and seen[-1].guidance_id == "run_crashed"
