"""The task registry and scheduler: PENDING, then RUNNING in a bounded pool, then an end.

Each task is an asyncio task on the server's loop. It waits out its queue delay, then for one
of ``workers`` run slots (still PENDING: that wait is the queue position clients see), then
RUNNING: it resolves its media from the file store and renders in the render pool while the
artificial run delay elapses; it ends when both are done. Rendering never runs on the event
loop, so any number of waiting tasks costs the server nothing.

Render pool: threads, bounded to ``workers``. Measured on 2 cores (720P, 5 s, two renders at
once): threads finished in 1.2-1.6 s wall against 0.9-1.1 s for one render alone, because
PyAV's encoder and numpy release the GIL for the heavy work; worker processes were no faster
(0.9-2.0 s) and would need the ``spawn`` start method (forking a threaded server is unsafe),
which re-imports the launching script in every worker. A 10 ms timer on the loop stayed
within 8 ms of schedule during the renders either way, so threads keep the server responsive.

Records live in memory; a task is forgotten ``ttl_s`` after it ended (or was submitted),
after which DashScope reads it as UNKNOWN and the gateway as not found.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from playground.core.profile import Profile
from playground.core.request import VideoRequest, media_of
from playground.core.rules import duration_rule
from playground.core.wire import WireFormat, path_of
from playground.sandbox import errors, timing
from playground.sandbox.config import SandboxConfig
from playground.sandbox.files import FileStore, MediaRefused, Origin, resolve
from playground.sandbox.scenarios import Scenario
from playground.sandbox.worker import DURATION_SLOT, RATIO_SLOT, MediaInput, Outcome, RenderJob, produce

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/bmp": "bmp", "image/webp": "webp"}


class Status(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


FINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELED})


@dataclass(frozen=True)
class Failure:
    code: str
    message: str
    param: str | None = None


@dataclass
class Task:
    """One submitted request and what has become of it."""

    task_id: str
    surface: WireFormat
    owner: str
    model: str
    request: VideoRequest
    seed: int
    scenario: Scenario | None
    delays: timing.Delays
    origin: Origin
    seq: int
    submitted_at: float
    status: Status = Status.PENDING
    scheduled_at: float | None = None
    ended_at: float | None = None
    outcome: Outcome | None = None
    failure: Failure | None = None
    expired: bool = False
    runner: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in FINAL


class RenderPool:
    """The bounded thread pool renders run in (see the module docstring for why threads)."""

    def __init__(self, workers: int) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="sandbox-render")

    async def run(self, job: RenderJob) -> Outcome:
        return await asyncio.get_running_loop().run_in_executor(self._executor, produce, job)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class TaskBoard:
    """Every live task, the run slots, and the expiry of both tasks and files."""

    def __init__(self, config: SandboxConfig, store: FileStore, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.profile: Profile = config.profile
        self.store = store
        self.pool = RenderPool(config.workers)
        self._clock = clock
        self._tasks: dict[str, Task] = {}
        self._seq = itertools.count()
        self._slots = asyncio.Semaphore(config.workers)
        self._sweeper: asyncio.Task[None] | None = None

    # -- submitting and reading ------------------------------------------------------------

    def submit(self, *, task_id: str, surface: WireFormat, owner: str, model: str, request: VideoRequest,
               scenario: Scenario | None, origin: Origin) -> Task:
        active = sum(1 for t in self._tasks.values() if not t.finished)
        if active >= self.config.max_active_tasks:
            raise errors.busy(self.config.max_active_tasks)
        seed = request.seed if request.seed is not None else secrets.randbelow(self.profile.seed_max + 1)
        duration = self.duration_of(request)
        task = Task(
            task_id=task_id, surface=surface, owner=owner, model=model, request=request, seed=seed,
            scenario=scenario, origin=origin, seq=next(self._seq), submitted_at=self._clock(),
            delays=timing.delays(self.resolution_of(request), duration or 5.0, scenario, self.config.delay_scale),
        )
        self._tasks[task_id] = task
        task.runner = asyncio.create_task(self._run(task), name=f"sandbox-task-{task_id}")
        self.ensure_sweeper()
        return task

    def lookup(self, task_id: str, surface: WireFormat, owner: str) -> Task | None:
        """The task if this key on this surface may see it and it has not expired."""
        task = self._tasks.get(task_id)
        if task is None or task.surface != surface or task.owner != owner or self._is_stale(task):
            return None
        return task

    def peek(self, task_id: str) -> Task | None:
        """The task whoever owns it (for the file routes, which take no key)."""
        return self._tasks.get(task_id)

    def listing(self, surface: WireFormat, owner: str) -> list[Task]:
        tasks = (self.lookup(t, surface, owner) for t in list(self._tasks))
        return sorted((t for t in tasks if t is not None), key=lambda t: t.seq, reverse=True)

    def cancel(self, task: Task) -> bool:
        """Stop a PENDING task; False if it already started or ended."""
        if task.status != Status.PENDING or task.runner is None:
            return False
        task.runner.cancel()
        task.status = Status.CANCELED
        task.ended_at = self._clock()
        return True

    def queue_position(self, task: Task) -> int | None:
        """How many PENDING tasks were submitted before this one; None once it runs."""
        if task.status != Status.PENDING:
            return None
        return sum(1 for t in self._tasks.values() if t.status == Status.PENDING and t.seq < task.seq)

    def progress(self, task: Task) -> int:
        """Percent done: 0 while queued, 100 when it succeeded, an estimate in between."""
        if task.status == Status.SUCCEEDED:
            return 100
        if task.scheduled_at is None:
            return 0
        # A task that failed or was stopped keeps the progress it had reached.
        now = task.ended_at if task.ended_at is not None else self._clock()
        expected = max(task.delays.run_s, 0.5)
        return min(99, 5 + int(94 * (now - task.scheduled_at) / expected))

    def poll_after_ms(self, task: Task) -> int:
        """A polite interval until the next GET, from the time the task still has to go."""
        now = self._clock()
        if task.status == Status.PENDING:
            left = task.submitted_at + task.delays.queue_s - now
        elif task.status == Status.RUNNING and task.scheduled_at is not None:
            left = task.scheduled_at + task.delays.run_s - now
        else:
            return 0
        # Half the time left, so a status change is seen soon after it happens; at most the
        # documented 15 s, at least 0.1 s (render time can outlast a small artificial delay).
        return int(min(15.0, max(0.1, left / 2)) * 1000)

    def resolution_of(self, request: VideoRequest) -> str:
        return request.resolution or self.profile.default_resolution

    def duration_of(self, request: VideoRequest) -> int:
        if request.duration is not None:
            return request.duration
        rule, _ = duration_rule(request, self.profile.mode(request.mode))
        return rule.default

    def ratio_of(self, request: VideoRequest) -> str | None:
        """The requested ratio, the default where the mode has one, None where media decides."""
        if request.mode == "image-to-video":
            return None
        ratio: str | None = getattr(request, "aspect_ratio", None)
        if ratio is None and request.mode != "video-edit":
            return self.profile.default_aspect_ratio
        return ratio

    def _is_stale(self, task: Task) -> bool:
        since = task.ended_at if task.ended_at is not None else task.submitted_at
        return task.finished and self._clock() - since > self.config.ttl_s

    # -- running ---------------------------------------------------------------------------

    async def _run(self, task: Task) -> None:
        try:
            await asyncio.sleep(task.delays.queue_s)
            async with self._slots:
                task.status = Status.RUNNING
                task.scheduled_at = self._clock()
                outcome = await self._produce(task)
            self._end(task, outcome)
        except asyncio.CancelledError:
            if not task.finished:
                task.status = Status.CANCELED
                task.ended_at = self._clock()
            raise
        except Exception as exc:  # a bug must fail the task, never the server
            self._end(task, Outcome(fail_code="InternalError", fail_message=f"the sandbox failed: {exc!r}"))
        finally:
            self.store.discard("work", task.task_id)

    async def _produce(self, task: Task) -> Outcome:
        scenario = task.scenario
        if scenario is not None and scenario.fail_code is not None:
            await asyncio.sleep(task.delays.run_s)
            return Outcome(fail_code=scenario.fail_code, fail_message=scenario.fail_message)
        prepared = await asyncio.to_thread(self._prepare, task)
        if isinstance(prepared, Failure):
            await asyncio.sleep(min(task.delays.run_s, 1.0 * self.config.delay_scale))
            return Outcome(fail_code=prepared.code, fail_message=prepared.message, fail_param=prepared.param)
        rendering = asyncio.ensure_future(self.pool.run(prepared))
        await asyncio.gather(rendering, asyncio.sleep(task.delays.run_s))
        return rendering.result()

    def _end(self, task: Task, outcome: Outcome) -> None:
        task.outcome = outcome
        task.ended_at = self._clock()
        if outcome.ok:
            task.status = Status.SUCCEEDED
            if task.scenario is not None and task.scenario.expire_on_end:
                task.expired = True
                self.store.discard("results", task.task_id)
        else:
            task.status = Status.FAILED
            task.failure = Failure(outcome.fail_code or "InternalError", outcome.fail_message or "", outcome.fail_param)

    def _prepare(self, task: Task) -> RenderJob | Failure:
        """Find every input in the store (blocking file work, so run in a thread)."""
        request = task.request
        named: list[tuple[str, tuple[str | int, ...], str]] = []
        audio_url = getattr(request, "audio_url", None)
        if audio_url is not None:
            named.append(("audio_url", ("audio_url",), audio_url))
        for index, item in enumerate(media_of(request)):
            named.append((item.type, ("media", index, "url"), item.url))
            if item.reference_voice is not None:
                named.append(("reference_voice", ("media", index, "reference_voice"), item.reference_voice))
        inputs: list[MediaInput] = []
        for number, (kind, loc, url) in enumerate(named):
            param = path_of(task.surface, loc)
            try:
                found = resolve(url, task.origin, self.store)
            except MediaRefused as exc:
                return Failure("InvalidURL", f"Invalid URL provided in your request. {param}: {exc}", param)
            if isinstance(found, bytes):
                mime = url[5:].partition(";")[0]
                found_path = self.store.work_dir(task.task_id) / f"{number}-{kind}.{_EXTENSIONS.get(mime, 'bin')}"
                found_path.write_bytes(found)
                found = found_path
            inputs.append(MediaInput(kind, param, Path(found)))
        title, caption = self.describe(task)
        return RenderJob(
            mode=request.mode,
            resolution=self.resolution_of(request),
            ratio=self.ratio_of(request),
            duration=self.duration_of(request),
            seed=task.seed,
            title=title,
            caption=caption,
            inputs=tuple(inputs),
            out_path=self.store.result_path(task.task_id),
            limits=dict(self.profile.media),
        )

    def describe(self, task: Task) -> tuple[str, str]:
        """The text drawn on the video: the parameters as a title, the prompt as a caption.

        Nothing here depends on the task id or the clock, so the same request and seed give
        the same frames.
        """
        request = task.request
        parts = [
            task.model,
            self.resolution_of(request),
            RATIO_SLOT,  # known only once the input media are probed (worker.py fills them in)
            DURATION_SLOT,
            f"seed {task.seed}",
            f"prompt_extend {'off' if request.prompt_extend is False else 'on'}",
        ]
        if request.watermark:
            parts.append("watermark")
        audio_setting = getattr(request, "audio_setting", None)
        if audio_setting:
            parts.append(f"audio {audio_setting}")
        prompt = (request.prompt or "").strip()[: self.profile.prompt_max_chars] or "(no prompt)"
        negative = (request.negative_prompt or "").strip()[: self.profile.negative_prompt_max_chars]
        caption = f"{prompt}\nnot: {negative}" if negative else prompt
        return " | ".join(parts), caption

    # -- expiry and shutdown ---------------------------------------------------------------

    def ensure_sweeper(self) -> None:
        """Start the periodic clean-up on the running loop (mounted apps get no lifespan)."""
        if self._sweeper is None or self._sweeper.done():
            with contextlib.suppress(RuntimeError):
                self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(min(self.config.sweep_interval_s, self.config.ttl_s / 4))
            await self.sweep()

    async def sweep(self) -> None:
        """Forget expired tasks and delete expired or excess files."""
        for task_id, task in list(self._tasks.items()):
            if self._is_stale(task):
                del self._tasks[task_id]
        keep = [t.task_id for t in self._tasks.values() if not t.finished]
        await asyncio.to_thread(self.store.sweep, keep)

    async def close(self) -> None:
        runners = [t.runner for t in self._tasks.values() if t.runner is not None and not t.runner.done()]
        if self._sweeper is not None:
            runners.append(self._sweeper)
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
        self.pool.close()
