"""A browser's run queue (issue 14, item 1), over a real loopback sandbox: Send never blocks, the
browser's gate caps its runs at the provider, a Cancel of a waiting run sends nothing, the tab
follows its newest run, and one browser can neither list nor cancel another's runs."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from playground.client import Gate, Ledger, QueueFull, RunBoard, RunEvent, RunOptions, RunState, run
from playground.core.profile import load_profile
from playground.settings import Settings
from playground.ui import runs
from playground.ui.connection import Connection, run_options
from playground.ui.services import Services
from tests.fixtures_client import FAST, new_key, sandbox_provider

pytestmark = pytest.mark.usefixtures("no_backoff")

# Long enough that a run is seen in flight (a 2 s 720P task queues and runs for about 2 s).
DELAY_SCALE = 0.2
OWNER = "browser-one"


def t2v(prompt: str) -> dict[str, Any]:
    return {"mode": "text-to-video", "prompt": prompt, "duration": 2, "resolution": "720P"}


@pytest.fixture
def slow_base(start_sandbox: Callable[..., str]) -> str:
    return f"{start_sandbox(delay_scale=DELAY_SCALE)}/sandbox"


def tasks_of(base: str, key: SecretStr) -> int:
    """How many tasks the sandbox holds for a key (what was created with it)."""
    answer = httpx.get(f"{base}/api/v1/tasks", headers={"Authorization": f"Bearer {key.get_secret_value()}"},
                       timeout=10)
    answer.raise_for_status()
    total: int = answer.json()["total"]
    return total


async def ended(board: RunBoard, run_id: str, timeout_s: float = 60.0) -> list[RunEvent]:
    async def every() -> list[RunEvent]:
        return [event async for event in board.watch(run_id)]

    return await asyncio.wait_for(every(), timeout_s)


async def until(check: Callable[[], Any], what: str, timeout_s: float = 30.0) -> Any:
    """Poll a condition on the event loop (the runs go on meanwhile) until it holds."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not (found := check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"gave up after {timeout_s:g} s waiting for {what}")
        await asyncio.sleep(0.02)
    return found


async def send(board: RunBoard, base: str, ledger: Ledger, out: Path, gate: Gate, prompt: str, *,
               owner: str = OWNER, key: SecretStr | None = None, limit: int | None = None) -> str:
    provider = sandbox_provider(base, key=key)
    stream = run(t2v(prompt), provider, ledger, out, session_id=owner,
                 options=RunOptions(schedule=FAST, cancel_on_abort=False, gates=(gate,)))
    return await board.start(stream, provider=provider, ledger=ledger, owner=owner, mode="text-to-video",
                             limit=limit)


async def test_two_runs_at_once_both_listed_and_both_finish(slow_base: str, ledger: Ledger, tmp_path: Path) -> None:
    board, gate = RunBoard(), Gate(4)
    first = await send(board, slow_base, ledger, tmp_path, gate, "first of two")
    second = await send(board, slow_base, ledger, tmp_path, gate, "second of two")
    both = await until(lambda: (listed := board.runs_of(OWNER)) and len(listed) == 2 and listed, "both listed")
    assert [q.run_id for q in both] == [first, second], "oldest Send first"
    assert all(q.mode == "text-to-video" and q.state.active for q in both)
    assert both[0].elapsed_s >= both[1].elapsed_s >= 0
    for run_id in (first, second):
        assert (await ended(board, run_id))[-1].state is RunState.SUCCEEDED
    assert board.runs_of(OWNER) == [], "a finished run leaves the queue"
    assert gate.in_use == 0, "every slot is given back"


async def test_five_sends_with_a_cap_of_four_keep_four_at_the_provider(
    slow_base: str, ledger: Ledger, tmp_path: Path
) -> None:
    board, gate = RunBoard(), Gate(4)
    most = 0
    sampling = True

    async def sample() -> None:
        nonlocal most
        while sampling:
            most = max(most, gate.in_use)
            await asyncio.sleep(0.005)

    sampler = asyncio.create_task(sample())
    ids = [await send(board, slow_base, ledger, tmp_path, gate, f"run {i} of five") for i in range(5)]
    waiting = await until(lambda: [q for q in board.runs_of(OWNER) if q.state is RunState.WAITING], "a waiting run")
    assert [q.run_id for q in waiting] == [ids[4]], "the fifth Send waits; the first four went on"
    assert waiting[0].ahead == 0 and waiting[0].label == "Waiting in queue: 0 runs ahead"
    assert waiting[0].task_id is None and ledger.get(ids[4]).task_id is None  # type: ignore[union-attr]
    finals = [(await ended(board, run_id))[-1] for run_id in ids]
    sampling = False
    await sampler
    assert [e.state for e in finals] == [RunState.SUCCEEDED] * 5
    assert most == 4, f"at most four runs hold the browser's slots at once (saw {most})"
    fifth = [event.state for event in ledger.events(ids[4])]
    assert fifth[:2] == ["waiting", "submitting"], fifth


async def test_a_full_queue_refuses_the_send_and_sends_nothing(slow_base: str, ledger: Ledger, tmp_path: Path) -> None:
    board, gate, key = RunBoard(), Gate(1), new_key()
    ids = [await send(board, slow_base, ledger, tmp_path, gate, f"fits {i}", key=key, limit=2) for i in range(2)]
    before = len(ledger.runs(OWNER))
    with pytest.raises(QueueFull) as refused:
        await send(board, slow_base, ledger, tmp_path, gate, "one too many", key=key, limit=2)
    assert "2 runs in flight or waiting" in str(refused.value) and "cancel one in the Queue panel" in str(refused.value)
    assert len(ledger.runs(OWNER)) == before, "nothing recorded for the refused Send"
    for run_id in ids:
        assert (await ended(board, run_id))[-1].state is RunState.SUCCEEDED
    assert tasks_of(slow_base, key) == 2, "the refused Send created no task"


async def test_cancelling_a_waiting_run_sends_nothing(slow_base: str, ledger: Ledger, tmp_path: Path) -> None:
    board, gate = RunBoard(), Gate(1)
    ahead_key, waiting_key = new_key(), new_key()
    first = await send(board, slow_base, ledger, tmp_path, gate, "holds the only slot", key=ahead_key)
    second = await send(board, slow_base, ledger, tmp_path, gate, "waits behind it", key=waiting_key)
    await until(lambda: board.queue_place(second) == 0, "the second run waiting")
    answer = await board.cancel_run(OWNER, second, ledger)
    assert answer.outcome == "dropped" and not answer.sent
    assert "nothing was sent" in answer.message
    last = (await ended(board, second, 10))[-1]
    assert last.state is RunState.CANCELED and last.task_id is None
    assert "nothing was sent" in last.message
    stored = ledger.get(second)
    assert stored is not None and (stored.state, stored.finished, stored.task_id) == ("canceled", 1, None)
    assert stored.bill_json is None
    assert (await ended(board, first))[-1].state is RunState.SUCCEEDED
    assert tasks_of(slow_base, waiting_key) == 0, "no create was sent for the cancelled run"
    assert tasks_of(slow_base, ahead_key) == 1
    assert (await board.cancel_run(OWNER, second, ledger)).outcome == "ended"


async def test_another_owner_can_neither_list_nor_cancel(slow_base: str, ledger: Ledger, tmp_path: Path) -> None:
    board, gate = RunBoard(), Gate(1)
    mine = await send(board, slow_base, ledger, tmp_path, gate, "mine, running")
    queued = await send(board, slow_base, ledger, tmp_path, gate, "mine, waiting")
    await until(lambda: board.queue_place(queued) == 0, "my second run waiting")
    assert board.runs_of("browser-two") == []
    for run_id in (mine, queued, "run-that-does-not-exist"):
        answer = await board.cancel_run("browser-two", run_id, ledger)
        assert answer.outcome == "absent", answer
        assert answer.message.startswith("run_id: no run") and "of this browser" in answer.message
    assert [q.run_id for q in board.runs_of(OWNER)] == [mine, queued], "both still in my queue"
    assert (await ended(board, queued))[-1].state is RunState.SUCCEEDED
    assert (await ended(board, mine))[-1].state is RunState.SUCCEEDED
    assert all(not ledger.get(r).cancel_requested for r in (mine, queued))  # type: ignore[union-attr]


# -- through the UI's bridge: the browser's gate, its queue limit, the tab following the newest ------


@pytest.fixture
def services(tmp_path: Path) -> Services:
    settings = Settings(data_dir=tmp_path / "data", max_runs_per_browser=1, max_variations=1)
    return Services(settings, load_profile(), "http://127.0.0.1:9/sandbox", settings.data_dir)


def connection(base: str, owner: str = OWNER) -> Connection:
    return Connection(provider="sandbox", wire="dashscope", base_url=base, scenario=None, api_key=new_key(),
                           owner=owner)


async def test_the_tab_follows_its_newest_run_and_the_queue_limit_holds(
    start_sandbox: Callable[..., str], services: Services
) -> None:
    slow_base = f"{start_sandbox(delay_scale=0.5)}/sandbox"  # the older run holds its slot for seconds
    options = dataclasses.replace(run_options(services), schedule=FAST)
    slot = ("tab-1", "text-to-video")
    older = runs.follow(services, slot, connection(slow_base), t2v("older send"), options=options)
    first = await anext(older)
    older_id = services.board.latest(slot)
    assert older_id is not None and first.state in ("validating", "submitting", "queued")
    assert runs.queue_room(services, OWNER) == 1  # a cap of 1 at the provider, plus 1 waiting
    order: list[str] = []
    newer = runs.follow(services, slot, connection(slow_base), t2v("newer send"), options=options)
    newer_first = asyncio.ensure_future(anext(newer))
    newer_first.add_done_callback(lambda _: order.append("newer's first view"))
    await until(lambda: services.board.latest(slot) not in (None, older_id), "the newer run taking the slot")
    newer_id = services.board.latest(slot)
    # The older watcher still holds a view the page has not taken: the newer run's first view
    # waits for it to leave (a bound on the wait, well inside runs.HANDOVER_S), so views arrive in order.
    held, _ = await asyncio.wait({newer_first}, timeout=0.5)
    assert not held, "the newer run's first view did not wait for the older watcher"
    # The older watcher stops before its next view; its run goes on, in the queue.
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(older), 10)
    order.append("older watcher left")
    shown = await asyncio.wait_for(newer_first, 10)
    assert order == ["older watcher left", "newer's first view"]
    assert [q.run_id for q in services.board.runs_of(OWNER)] == [older_id, newer_id]
    # The browser's gate holds one run at the provider: the newer one waits, and says so.
    await until(lambda: services.board.queue_place(newer_id) == 0, "the newer run waiting behind the older")
    # A third Send while two are unfinished (the cap of 1, plus 1 waiting) is refused: nothing sent.
    assert runs.queue_room(services, OWNER) == 0
    refused = [view async for view in runs.follow(services, slot, connection(slow_base), t2v("third send"),
                                                  options=options)]
    assert [v.state for v in refused] == ["invalid"] and "Queue panel" in refused[0].note
    assert services.board.latest(slot) == newer_id, "a refused Send takes no slot"
    views = [shown]
    async for view in newer:
        views.append(view)
    waiting = [v for v in views if v.state == "waiting"]
    assert waiting and "Waiting in queue: 0 runs ahead" in waiting[0].note
    assert "Nothing has been sent" in waiting[0].note
    assert views[-1].state == "succeeded"
    older_end = await ended(services.board, older_id)
    assert older_end[-1].state is RunState.SUCCEEDED, "the older run finished although nobody watched it"
    assert len(services.ledger().runs(OWNER)) == 2


async def test_shutdown_leaves_a_waiting_run_waiting_and_the_next_start_creates_it(
    slow_base: str, ledger: Ledger, tmp_path: Path,
) -> None:
    """The attack is a shutdown while a run waits for a slot: the run that held the slot ends as
    the server goes, and the waiting one must not take the slot and send its create to a sandbox
    that is closing (it would end unreachable for good). It stays waiting, and a restart sends it."""
    board, gate = RunBoard(), Gate(1)
    holder = await send(board, slow_base, ledger, tmp_path, gate, "holds the only slot")
    waiting = await send(board, slow_base, ledger, tmp_path, gate, "waits for it")
    await until(lambda: (r := ledger.get(waiting)) is not None and r.state == RunState.WAITING, "second waiting")
    assert board.stop_waiting() == 1
    await ended(board, holder)
    await until(lambda: waiting not in board.running(), "the waiting run's driver stopped")
    row = ledger.get(waiting)
    assert row is not None and row.state == RunState.WAITING and not row.finished and row.task_id is None

    restarted = RunBoard()
    settings = Settings(provider="sandbox", base_url=slow_base)
    key = sandbox_provider(slow_base).api_key
    resumed = await restarted.resume_unfinished(ledger, settings, lambda _record: key,
                                                gates_for=lambda _record, _provider: (Gate(1),))
    assert waiting in resumed
    events = await ended(restarted, waiting)
    assert events[-1].state is RunState.SUCCEEDED


async def test_a_browsers_gate_lasts_while_its_runs_do_and_then_goes(
    start_sandbox: Callable[..., str], services: Services
) -> None:
    """A shared demo meets many browsers: each one's gate lives while it has runs in flight or
    waiting (the same gate for all of them), and is gone once they ended, so gates of browsers
    seen once do not pile up for the server's life."""
    base = f"{start_sandbox(delay_scale=0.05)}/sandbox"
    options = dataclasses.replace(run_options(services), schedule=FAST)
    owners = [f"browser-{n}" for n in range(3)]
    follows = [runs.follow(services, (f"tab-{o}", "text-to-video"), connection(base, o), t2v(f"from {o}"),
                           options=options) for o in owners]
    firsts = [await anext(f) for f in follows]
    assert all(v.state in ("validating", "submitting", "queued", "waiting") for v in firsts), firsts
    gate = services.owner_gate(owners[0])
    assert set(services.gates) >= set(owners)
    assert gate.in_use + gate.waiting == 1, "the browser's run holds (or waits for) this very gate"
    del gate
    for follow in follows:
        views = [view async for view in follow]
        assert views[-1].state == "succeeded", views[-1]
    await until(lambda: not services.board.running(), "every run's driver to end")
    gc.collect()
    assert not [o for o in owners if o in services.gates], dict(services.gates)
