"""The task registry and scheduler: PENDING, then RUNNING in a bounded pool, then an end.

Each task is an asyncio task on the server's loop. It waits out its queue delay, then for one
of ``workers`` run slots (still PENDING: that wait is the queue position clients see; the slots
go round the API keys in turns, fair.py, so one key's backlog does not hold up another's), then
RUNNING: it resolves its media from the file store and renders in the render pool while the
artificial run delay elapses; it ends when both are done. Rendering never runs on the event
loop, so any number of waiting tasks costs the server nothing. The render pool is a set of
low-priority child processes, so renders take neither the server's GIL nor its CPU
(render_pool.py says why and what it measured).

Every task is also written to disk (records.py) at each change of state, and a board started
on the same data dir reads them back: finished tasks read as before, and a task that was
PENDING or RUNNING when its process stopped carries on, re-rendered from its stored request
(rendering is deterministic, so the video is the one it would have made). It keeps its id,
submit time, seed and, for a RUNNING task, its start time; what is left of its artificial
delays is paced by the restarted sandbox's delay scale. The resumption starts with the first
request the sandbox serves (mounted apps get no start-up event), or at start-up when the
sandbox is the root app (``standalone_app``).

What one key may hold: at most ``max_tasks_per_key`` unfinished tasks (and the whole sandbox
``max_active_tasks``); a submit beyond either is refused with 429 before any task exists.
Prompts are kept as the real API uses them: a prompt longer than the profile's
``prompt_max_chars`` (``negative_prompt_max_chars`` for the negative prompt) is cut to that
many characters when the task is created, since "the API drops the rest"; the cut text is what
is stored, drawn and echoed (DashScope's ``orig_prompt``), so a huge prompt costs its bytes
once, in the request (whose size the JSON body limit caps, app.py), and never again.

A task is forgotten, in memory and on disk, ``ttl_s`` after it ended; one whose submit is
older than that when a sandbox starts is not resumed. DashScope then reads it as UNKNOWN and
the gateway as not found.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from playground.core.profile import Profile
from playground.core.request import VideoRequest, media_of
from playground.core.rules import duration_rule
from playground.core.wire import WireFormat, path_of
from playground.sandbox import errors, shot_plan, timing
from playground.sandbox.config import SandboxConfig
from playground.sandbox.fair import FairSlots
from playground.sandbox.files import FileStore, MediaRefused, Origin, resolve
from playground.sandbox.kept_request import clip_prompts, drop_inline_media
from playground.sandbox.records import Failure, Status, Task, TaskRecords
from playground.sandbox.render_pool import RenderPool
from playground.sandbox.scenarios import Scenario
from playground.sandbox.worker import DURATION_SLOT, RATIO_SLOT, MediaInput, Outcome, RenderJob

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/bmp": "bmp", "image/webp": "webp"}
_log = logging.getLogger(__name__)


class TaskBoard:
    """Every live task, the run slots, and the expiry of both tasks and files."""

    def __init__(self, config: SandboxConfig, store: FileStore, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.profile: Profile = config.profile
        self.store = store
        self.pool = RenderPool(config.workers)
        self.speed = timing.RenderSpeed()
        self.records = TaskRecords(store.root)
        self._clock = clock
        self._tasks: dict[str, Task] = {}
        self._slots = FairSlots(config.workers)
        self._sweeper: asyncio.Task[None] | None = None
        self._seq = itertools.count(self.restore())

    def restore(self) -> int:
        """Read the stored tasks back; the next free sequence number.

        Unfinished tasks wait here without a runner until :meth:`start` runs on the serving
        loop (there may be no loop yet while the app is being built).
        """
        now = self._clock()
        forgotten: list[str] = []
        for task in sorted(self.records.load(), key=lambda t: t.seq):
            if now - (task.ended_at if task.ended_at is not None else task.submitted_at) > self.config.ttl_s:
                forgotten.append(task.task_id)
                continue
            if not task.finished:
                # The rest of its wait follows this sandbox's delay scale, which may differ.
                task.delays = self.delays_of(task.request, task.scenario)
            else:  # stored by an older sandbox, which kept them
                task.request = drop_inline_media(task.request)
            self._tasks[task.task_id] = task
        self.records.delete(forgotten)
        return max((t.seq for t in self._tasks.values()), default=-1) + 1

    # -- submitting and reading ------------------------------------------------------------

    def submit(self, *, task_id: str, surface: WireFormat, owner: str, model: str, request: VideoRequest,
               scenario: Scenario | None, origin: Origin) -> Task:
        self._check_quota(owner)
        request = clip_prompts(request, self.profile)
        seed = request.seed if request.seed is not None else secrets.randbelow(self.profile.seed_max + 1)
        task = Task(
            task_id=task_id, surface=surface, owner=owner, model=model, request=request, seed=seed,
            scenario=scenario, origin=origin, seq=next(self._seq), submitted_at=self._clock(),
            delays=self.delays_of(request, scenario),
        )
        # On disk before the answer leaves: a client holding this id can count on it.
        self._save(task)
        self._tasks[task_id] = task
        task.runner = asyncio.create_task(self._run(task), name=f"sandbox-task-{task_id}")
        self.start()
        self._warm_renderers()
        return task

    def _check_quota(self, owner: str) -> None:
        """Refuse a submit past the key's own limit of unfinished tasks, or the sandbox's."""
        unfinished = [t.owner for t in self._tasks.values() if not t.finished]
        if unfinished.count(owner) >= self.config.max_tasks_per_key:
            raise errors.key_busy(self.config.max_tasks_per_key)
        if len(unfinished) >= self.config.max_active_tasks:
            raise errors.busy(self.config.max_active_tasks)

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
        task.request = drop_inline_media(task.request)
        self._save(task)
        return True

    def queue_position(self, task: Task) -> int | None:
        """How many PENDING tasks should start before this one, taking turns by key; None once it runs."""
        if task.status != Status.PENDING:
            return None
        waiting = [(t.owner, t.seq) for t in self._tasks.values() if t.status == Status.PENDING]
        return self._slots.order(waiting).index(task.seq)

    def progress(self, task: Task) -> int:
        """Percent done: 0 while queued, 100 when it succeeded, an estimate in between."""
        if task.status == Status.SUCCEEDED:
            return 100
        if task.scheduled_at is None:
            return 0
        # A task that failed or was stopped keeps the progress it had reached.
        now = task.ended_at if task.ended_at is not None else self._clock()
        expected = max(self._expected_end(task) - task.scheduled_at, 0.5)
        return min(99, 5 + int(94 * (now - task.scheduled_at) / expected))

    def poll_after_ms(self, task: Task) -> int:
        """A polite interval until the next GET, from the time the task still has to go."""
        now = self._clock()
        if task.status == Status.PENDING:
            left = task.submitted_at + task.delays.queue_s - now
            if left <= 0:  # waiting for a run slot: one frees when the soonest running task ends
                ends = [self._expected_end(t) for t in self._tasks.values() if t.status == Status.RUNNING]
                left = min(ends, default=now) - now
        elif task.status == Status.RUNNING:
            left = self._expected_end(task) - now
        else:
            return 0
        if left <= 0:
            # Later than expected: ask again soon, but not flat out (see timing.py for why).
            return int(min(1.0, max(0.1, self.render_estimate_s(task) / 8)) * 1000)
        # Half the time left, so a status change is seen soon after it happens; at most the
        # documented 15 s, at least 0.1 s.
        return int(min(15.0, max(0.1, left / 2)) * 1000)

    def render_estimate_s(self, task: Task) -> float:
        """How long this task's render should take here; 0 for a task that never renders."""
        if not _renders(task):
            return 0.0
        return self.speed.estimate_s(self.resolution_of(task.request), self.duration_of(task.request) or 5.0)

    def _expected_end(self, task: Task) -> float:
        """When a started task should end: after its artificial run delay and its render."""
        started = task.scheduled_at if task.scheduled_at is not None else self._clock()
        end = started + task.delays.run_s
        if task.render_started_at is not None:
            return max(end, task.render_started_at + task.render_estimate_s)
        return max(end, started + self.render_estimate_s(task))

    def delays_of(self, request: VideoRequest, scenario: Scenario | None) -> timing.Delays:
        duration = self.duration_of(request) or 5.0  # 0 keeps an edit's source length: unknown yet
        return timing.delays(self.resolution_of(request), duration, scenario, self.config.delay_scale)

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
        """Take a task from where it stands (new, or restored PENDING or RUNNING) to its end.

        A cancel() marks the task CANCELED before cancelling this coroutine; any other
        cancellation is the sandbox shutting down, and then the task is left as it was, in
        memory and on disk, for the next start to carry on.
        """
        try:
            if task.status == Status.PENDING:
                await asyncio.sleep(max(0.0, task.submitted_at + task.delays.queue_s - self._clock()))
            # A restored RUNNING task also needs a slot; it was started first, so it gets one first.
            async with self._slots.slot(task.owner, task.seq, first=task.status == Status.RUNNING):
                if task.status == Status.PENDING:
                    task.status = Status.RUNNING
                    task.scheduled_at = self._clock()
                    self._save(task)
                outcome = await self._produce(task)
            self._end(task, outcome)
        except Exception as exc:  # a bug must fail the task, never the server
            self._end(task, Outcome(fail_code="InternalError", fail_message=f"the sandbox failed: {exc!r}"))
        finally:
            self.store.discard("work", task.task_id)

    async def _produce(self, task: Task) -> Outcome:
        started = task.scheduled_at if task.scheduled_at is not None else self._clock()
        run_left = max(0.0, started + task.delays.run_s - self._clock())
        scenario = task.scenario
        if scenario is not None and not _renders(task):
            await asyncio.sleep(run_left)
            return Outcome(fail_code=scenario.fail_code, fail_message=scenario.fail_message)
        prepared = await asyncio.to_thread(self._prepare, task)
        if isinstance(prepared, Failure):
            await asyncio.sleep(min(run_left, 1.0 * self.config.delay_scale))
            return Outcome(fail_code=prepared.code, fail_message=prepared.message, fail_param=prepared.param)
        # Cancelling the gather (shutdown) cancels the render too, which kills its process.
        rendering = asyncio.ensure_future(self._render(task, prepared))
        await asyncio.gather(rendering, asyncio.sleep(run_left))
        return rendering.result()

    async def _render(self, task: Task, job: RenderJob) -> Outcome:
        task.render_estimate_s = self.render_estimate_s(task)
        task.render_started_at = self._clock()
        outcome = await self.pool.run(job)
        if outcome.ok:
            self.speed.observe(self._clock() - task.render_started_at, job.resolution, outcome.duration_s)
        return outcome

    def _end(self, task: Task, outcome: Outcome) -> None:
        task.outcome = outcome
        task.ended_at = self._clock()
        task.request = drop_inline_media(task.request)  # rendered: its inline media are not needed again
        if outcome.ok:
            task.status = Status.SUCCEEDED
            if task.scenario is not None and task.scenario.expire_on_end:
                task.expired = True
                self.store.discard("results", task.task_id)
        else:
            task.status = Status.FAILED
            task.failure = Failure(outcome.fail_code or "InternalError", outcome.fail_message or "", outcome.fail_param)
        self._save(task)

    def _save(self, task: Task) -> None:
        """Write the task's state; a disk error is logged, and the task carries on in memory."""
        try:
            self.records.save(task)
        except sqlite3.Error as exc:
            _log.warning("sandbox: could not store task %s (%s); it will not survive a restart", task.task_id, exc)

    def _prepare(self, task: Task) -> RenderJob | Failure:
        """Find every input in the store (blocking file work, so run in a thread)."""
        # A render cut short by a crash may have left its temporary file; this one starts over.
        self.store.discard_partials(task.task_id)
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
                # Checked again here: an oss:// file may have expired since the create.
                found = resolve(url, task.origin, self.store, task.model)
            except MediaRefused as exc:
                return Failure("InvalidURL", f"Invalid URL provided in your request. {param}: {exc}", param)
            if isinstance(found, bytes):
                mime = url[5:].partition(";")[0]
                found_path = self.store.work_dir(task.task_id) / f"{number}-{kind}.{_EXTENSIONS.get(mime, 'bin')}"
                found_path.write_bytes(found)
                found = found_path
            inputs.append(MediaInput(kind, param, Path(found)))
        title, caption = self.describe(task)
        understood = shot_plan.plan(request)
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
            shots=shot_plan.cues(understood),
        )

    def describe(self, task: Task) -> tuple[str, str]:
        """The text drawn on the video: the parameters as a title, the prompt as a caption.

        A prompt with timed shots is drawn shot by shot (shot_plan.py); its caption, shown
        outside every shot, is then the overall description. Nothing here depends on the task
        id or the clock, so the same request and seed give the same frames.
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
        understood = shot_plan.plan(request)
        if understood.shots:
            prompt = understood.overall
        negative = (request.negative_prompt or "").strip()[: self.profile.negative_prompt_max_chars]
        caption = f"{prompt}\nnot: {negative}" if negative else prompt
        return " | ".join(parts), caption

    # -- expiry and shutdown ---------------------------------------------------------------

    def start(self) -> None:
        """On the running loop: resume restored unfinished tasks and start the periodic clean-up.

        Cheap and idempotent, so it is called on every request (mounted apps get no lifespan).
        """
        if self._sweeper is not None and not self._sweeper.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._sweeper = loop.create_task(self._sweep_forever())
        waiting = [t for t in self._tasks.values() if not t.finished and t.runner is None]
        # RUNNING ones first, so they take the run slots again before any PENDING one.
        waiting.sort(key=lambda t: (t.status != Status.RUNNING, t.seq))
        for task in waiting:
            task.runner = loop.create_task(self._run(task), name=f"sandbox-task-{task.task_id}")
        if waiting:
            _log.info("sandbox: resuming %d unfinished task(s)", len(waiting))
            self._warm_renderers()

    def _warm_renderers(self) -> None:
        """One render process per task that will render, up to ``workers``, started ahead."""
        self.pool.warm(sum(1 for t in self._tasks.values() if not t.finished and _renders(t)))

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(min(self.config.sweep_interval_s, self.config.ttl_s / 4))
            await self.sweep()

    async def sweep(self) -> None:
        """Forget expired tasks (their records too) and delete expired or excess files."""
        stale = [task_id for task_id, task in self._tasks.items() if self._is_stale(task)]
        for task_id in stale:
            del self._tasks[task_id]
        keep = [t.task_id for t in self._tasks.values() if not t.finished]
        await asyncio.to_thread(self.records.delete, stale)
        await asyncio.to_thread(self.store.sweep, keep)

    async def close(self) -> None:
        """Stop every runner and render; unfinished tasks stay on disk, unfinished."""
        runners = [t.runner for t in self._tasks.values() if t.runner is not None and not t.runner.done()]
        if self._sweeper is not None:
            runners.append(self._sweeper)
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
        self.pool.close()
        self.records.close()


def _renders(task: Task) -> bool:
    """Whether a task will render (a scenario that fails the task skips rendering)."""
    return task.scenario is None or task.scenario.fail_code is None
