"""The guide page's gateway contract under ``/sandbox/v1``.

* ``POST /videos/generations`` takes ``{"model": "wan-2-7-video", "mode", "input": {...}}`` and
  answers like the guide's minimal response: ``{task_id, model, mode, status: "queued",
  created_at}``. A key holding ``max_tasks_per_key`` unfinished tasks gets 429
  ``rate_limit_exceeded`` / ``rate_limited`` with ``Retry-After``.
* ``GET /videos/generations/{task_id}``: ``status`` queued -> in_progress -> completed or
  failed, with ``progress`` (0-100), ``queue_position`` while queued, ``started_at``,
  ``completed_at``, ``expires_at`` and ``result`` ({type: "video", url, width, height,
  duration, fps, seed}) when completed, ``error`` ({code, message, param}) when failed. An
  unknown, foreign or expired id is 404 ``task_not_found``.

Errors are ``{"error": {"type", "code", "message", "param"}}`` (see errors.py). Every response
carries ``X-Request-Id``; task reads also ``X-Sandbox-Poll-After-Ms``.

**Sandbox only:** when the prompt has shot lines, a task read also carries a top-level
``sandbox_shots``, the shot list the sandbox understood (``{"shots": [{"number", "start", "end",
"text", "media"}], "unparsed": [...]}``, see shot_plan.py). No real gateway sends it.
"""

from __future__ import annotations

import secrets
import time

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from playground.core import contract
from playground.core.rules import CheckOptions
from playground.core.wire import WireFormat
from playground.sandbox import bodies, shot_plan, surface
from playground.sandbox.errors import ApiError
from playground.sandbox.records import Status, Task
from playground.sandbox.runtime import Runtime, sandbox_base
from playground.sandbox.timing import iso_time

FORMAT: WireFormat = "gateway"
PREFIX = contract.API_ROOT[FORMAT]
_PATHS = contract.ENDPOINTS[FORMAT]
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_task_id() -> str:
    """``task_`` and a ULID: sortable by creation time, like the guide's ``task_01J9HA7...``."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "task_" + "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def task_body(task: Task, runtime: Runtime, base: str) -> bodies.GatewayTask:
    board = runtime.board
    body = bodies.GatewayTask(
        task_id=task.task_id, model=runtime.config.profile.gateway_model, mode=task.request.mode,
        status=surface.status_word(FORMAT, task.status.state), progress=board.progress(task),
        created_at=iso_time(task.submitted_at),
        queue_position=board.queue_position(task),
    )
    if task.scheduled_at is not None:
        body.started_at = iso_time(task.scheduled_at)
    if task.ended_at is not None:
        body.completed_at = iso_time(task.ended_at)
    outcome = task.outcome
    if task.status == Status.SUCCEEDED and outcome is not None and task.ended_at is not None:
        # An expired task shows when its URL stopped working: the moment it ended.
        body.expires_at = iso_time(task.ended_at if task.expired else task.ended_at + runtime.config.ttl_s)
        body.result = bodies.VideoResult(
            url=surface.result_url(base, task),
            width=outcome.width, height=outcome.height,
            duration=int(outcome.duration_s) if outcome.duration_s.is_integer() else outcome.duration_s,
            fps=30, seed=task.seed,
        )
    if task.status == Status.FAILED and task.failure is not None:
        body.error = bodies.TaskError(code=task.failure.code, message=task.failure.message, param=task.failure.param)
    if task.status == Status.CANCELED:
        body.error = bodies.TaskError(code=contract.GATEWAY_CANCELED_CODE,
                                      message="the task was canceled before it started")
    understood = shot_plan.plan(task.request)
    if understood.shots or understood.unparsed:
        body.sandbox_shots = shot_plan.answer(understood)
    return body


def _admit(request: Request) -> CheckOptions:
    # No headers to check; a gateway takes media only as URLs (never oss:// keys).
    return CheckOptions(allow_oss_urls=False)


def router(runtime: Runtime) -> APIRouter:
    api = surface.router(FORMAT, "Gateway", bodies.GatewayError, (400, 401, 404, 408, 413, 429))

    @surface.create_route(api, runtime, FORMAT, bodies.GatewayCreated)
    async def create_generation(request: Request) -> JSONResponse:
        task = await surface.create(request, runtime, FORMAT, new_id=new_task_id, admit=_admit)
        answer = bodies.GatewayCreated(task_id=task.task_id, model=task.model, mode=task.request.mode,
                                       status=surface.status_word(FORMAT, "queued"),
                                       created_at=iso_time(task.submitted_at))
        return JSONResponse(answer.dump())

    @api.get(_PATHS.task, summary="Query a task", responses={200: {"model": bodies.GatewayTask}})
    async def get_generation(task_id: str, request: Request) -> JSONResponse:
        task = surface.find(request, runtime, FORMAT, task_id)
        if task is None:
            raise ApiError(404, "InvalidParameter", f"no task {task_id}: it does not exist, belongs to another "
                           "key, or has expired", gateway_code=contract.GATEWAY_NOT_FOUND_CODE, param="task_id")
        body = task_body(task, runtime, sandbox_base(request, runtime.config))
        return JSONResponse(body.dump(), headers=surface.task_headers(runtime, task))

    return api
