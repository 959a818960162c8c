"""Model Studio's native contract under ``/sandbox/api/v1``, as the official SDK drives it.

* ``POST /services/aigc/video-generation/video-synthesis`` needs ``Authorization: Bearer`` and
  ``X-DashScope-Async: enable`` (else 403 AccessDenied); answers ``{request_id, output:
  {task_id, task_status: "PENDING"}}``. It tolerates what the SDK adds (``input.extend_prompt``,
  ``input.function``, an empty ``parameters``) and, with ``X-DashScope-OssResourceResolve:
  enable``, the ``oss://`` keys of the SDK's temporary uploads. A key holding
  ``max_tasks_per_key`` unfinished tasks is refused with 429 ``Throttling`` and
  ``Retry-After`` (a concurrency limit: retrying once a task ends succeeds). A prompt over the
  documented length is cut to it, as the real API does (tasks.py), so ``orig_prompt`` echoes
  at most ``prompt_max_chars`` characters.
* ``GET /tasks/{id}`` always answers 200: PENDING, RUNNING, SUCCEEDED (``video_url``, ``usage``
  per mode), FAILED (``code``, ``message``), CANCELED, or UNKNOWN for an unknown, foreign or
  expired id. Times are UTC+8 ``YYYY-MM-DD HH:mm:ss.SSS``.
* ``POST /tasks/{id}/cancel`` cancels a PENDING task; anything else is 400 UnsupportedOperation.
* ``GET /tasks`` lists the caller's tasks; ``GET /uploads?action=getPolicy`` issues a
  temporary-upload certificate (see oss.py).

The contract has no room for a queue position, so the sandbox sends it, and a poll interval
hint, as headers: ``X-Sandbox-Queue-Position`` and ``X-Sandbox-Poll-After-Ms``.

**Sandbox only:** when the prompt has shot lines, a task read's ``output`` also carries
``sandbox_shots``, the shot list the sandbox understood (``{"shots": [{"number", "start",
"end", "text", "media"}], "unparsed": [...]}``, see shot_plan.py). The real API sends no such
field.
"""

from __future__ import annotations

import math
import uuid

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from playground.core import contract
from playground.core.rules import CheckOptions
from playground.core.wire import WireFormat
from playground.sandbox import bodies, errors, shot_plan, surface
from playground.sandbox.records import Status, Task
from playground.sandbox.runtime import Runtime, authenticate, request_id, sandbox_base
from playground.sandbox.timing import dashscope_time

FORMAT: WireFormat = "dashscope"
PREFIX = contract.API_ROOT[FORMAT]
_PATHS = contract.ENDPOINTS[FORMAT]


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 2)


def usage_of(task: Task, runtime: Runtime) -> bodies.Usage | None:
    """The billing summary of a finished task, with the fields its mode documents."""
    outcome = task.outcome
    if outcome is None or not outcome.ok:
        return None
    out, given = outcome.duration_s, outcome.input_video_s
    mode = task.request.mode
    sr = int(runtime.board.resolution_of(task.request).rstrip("Pp"))
    billed = given + out if mode in ("reference-to-video", "video-edit") else out
    ratio = outcome.ratio if mode in ("text-to-video", "reference-to-video") else None
    return bodies.Usage(
        duration=_num(billed),
        input_video_duration=_num(given if mode != "text-to-video" else 0),
        output_video_duration=_num(out),
        video_count=1,
        ratio=ratio,
        SR=sr,
    )


def task_body(task: Task, runtime: Runtime, rid: str, base: str) -> bodies.DashScopeTask:
    if task.expired:
        return unknown_body(task.task_id, rid)
    output = bodies.TaskOutput(task_id=task.task_id, task_status=surface.status_word(FORMAT, task.status.state),
                               submit_time=dashscope_time(task.submitted_at))
    if task.scheduled_at is not None:
        output.scheduled_time = dashscope_time(task.scheduled_at)
    if task.ended_at is not None:
        output.end_time = dashscope_time(task.ended_at)
    if task.status == Status.SUCCEEDED:
        output.orig_prompt = task.request.prompt or ""
        expires = math.floor((task.ended_at or 0) + runtime.config.ttl_s)
        output.video_url = f"{surface.result_url(base, task)}?Expires={expires}"
    if task.status == Status.FAILED and task.failure is not None:
        output.code, output.message = task.failure.code, task.failure.message
    understood = shot_plan.plan(task.request)
    if understood.shots or understood.unparsed:
        output.sandbox_shots = shot_plan.answer(understood)
    return bodies.DashScopeTask(request_id=rid, output=output, usage=usage_of(task, runtime))


def unknown_body(task_id: str, rid: str) -> bodies.DashScopeTask:
    output = bodies.TaskOutput(task_id=task_id, task_status=surface.status_word(FORMAT, "unknown"))
    return bodies.DashScopeTask(request_id=rid, output=output)


def _admit(request: Request) -> CheckOptions:
    # Without X-DashScope-Async the real API refuses the call; oss:// keys of the SDK's
    # temporary uploads are resolved only when X-DashScope-OssResourceResolve asks for it.
    if not all(surface.header_is(request, name, value) for name, value in contract.CREATE_HEADERS[FORMAT].items()):
        raise errors.synchronous_call()
    return CheckOptions(allow_oss_urls=surface.header_is(request, contract.OSS_RESOLVE_HEADER))


def _new_task_id() -> str:
    return str(uuid.uuid4())


def router(runtime: Runtime) -> APIRouter:
    api = surface.router(FORMAT, "DashScope native", bodies.DashScopeError, (400, 401, 403, 408, 413, 429))
    board = runtime.board

    @surface.create_route(api, runtime, FORMAT, bodies.DashScopeSubmitted)
    async def create_task(request: Request) -> JSONResponse:
        task = await surface.create(request, runtime, FORMAT, new_id=_new_task_id, admit=_admit)
        output = bodies.SubmitOutput(task_id=task.task_id, task_status=surface.status_word(FORMAT, "queued"))
        answer = bodies.DashScopeSubmitted(request_id=request_id(request), output=output)
        return JSONResponse(answer.dump())

    @api.get(_PATHS.task, summary="Query a task", responses={200: {"model": bodies.DashScopeTask}})
    async def get_task(task_id: str, request: Request) -> JSONResponse:
        task = surface.find(request, runtime, FORMAT, task_id)
        rid = request_id(request)
        if task is None:
            return JSONResponse(unknown_body(task_id, rid).dump())
        headers = surface.task_headers(runtime, task, queue_position=True)
        body = task_body(task, runtime, rid, sandbox_base(request, runtime.config))
        return JSONResponse(body.dump(), headers=headers)

    @api.post(_PATHS.cancel, summary="Cancel a PENDING task", responses={200: {"model": bodies.DashScopeCanceled}})
    async def cancel_task(task_id: str, request: Request) -> JSONResponse:
        task = surface.find(request, runtime, FORMAT, task_id)
        if task is None or task.expired:
            raise errors.bad_parameter(
                f"task {task_id} does not exist or has expired", param="task_id",
                code="UnsupportedOperation", gateway_code=contract.GATEWAY_NOT_FOUND_CODE,
            )
        if not board.cancel(task):
            raise errors.bad_parameter(
                "Failed to cancel the task, please confirm if the task is in "
                f"{surface.status_word(FORMAT, 'queued')} status (it is {task.status.value}).", param="task_id",
                code="UnsupportedOperation", gateway_code="unsupported_operation",
            )
        return JSONResponse(bodies.DashScopeCanceled(request_id=request_id(request)).dump())

    task_list = _PATHS.task_list
    assert task_list is not None, "DashScope lists tasks"

    @api.get(task_list, summary="List the caller's tasks", responses={200: {"model": bodies.DashScopeTaskList}})
    async def list_tasks(request: Request, page_no: str = "1", page_size: str = "10",
                         status: str | None = None, model_name: str | None = None) -> JSONResponse:
        caller = authenticate(request, FORMAT, runtime.config)
        number, size = _page_arg("page_no", page_no, 1_000_000), _page_arg("page_size", page_size, 100)
        tasks = [
            t for t in board.listing(FORMAT, caller.owner)
            if (status is None or t.status.value == status) and (model_name is None or t.model == model_name)
        ]
        page = tasks[(number - 1) * size : number * size]
        listed = [
            bodies.ListedTask(
                task_id=t.task_id, status=surface.status_word(FORMAT, "unknown" if t.expired else t.status.state),
                model_name=t.model,
                gmt_create=dashscope_time(t.submitted_at),
                start_time=dashscope_time(t.scheduled_at) if t.scheduled_at else None,
                end_time=dashscope_time(t.ended_at) if t.ended_at else None,
            )
            for t in page
        ]
        answer = bodies.DashScopeTaskList(
            request_id=request_id(request), data=listed, total=len(tasks),
            total_page=max(1, math.ceil(len(tasks) / size)), page_no=number, page_size=size,
        )
        return JSONResponse(answer.dump())

    @api.get(_PATHS.files, summary="Get a temporary-upload certificate (the SDK's local-file flow)",
             responses={200: {"model": bodies.DashScopeUploadPolicy}})
    async def upload_policy(request: Request, action: str | None = None, model: str | None = None) -> JSONResponse:
        caller = authenticate(request, FORMAT, runtime.config)
        if action != contract.UPLOAD_POLICY_ACTION:
            raise errors.bad_parameter(f"action must be {contract.UPLOAD_POLICY_ACTION}", param="action")
        if not model:
            raise errors.bad_parameter("model is required: the model the file will be used with", param="model")
        host = f"{sandbox_base(request, runtime.config)}/oss"
        # The folder is bound to this key and this model: its files work for nothing else (§6.1).
        certificate = runtime.signer.certificate(caller.owner, host, runtime.config.max_upload_bytes, model=model)
        answer = bodies.DashScopeUploadPolicy(request_id=request_id(request),
                                              data=bodies.UploadCertificate(**certificate))
        return JSONResponse(answer.dump())

    return api


def _page_arg(name: str, value: str, most: int) -> int:
    number = int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else 0
    if not 1 <= number <= most:
        raise errors.bad_parameter(f"{name} must be a whole number from 1 to {most}", param=name)
    return number
