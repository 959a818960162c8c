"""What the two API surfaces share, so that each routes module holds only its wire shape.

Both ``dashscope_routes.py`` (Model Studio's native contract) and ``gateway_routes.py`` (the
guide page's unified format) do the same things with a task; only the bodies, codes and paths
they answer with differ, and those come from ``playground.core.contract`` and ``bodies.py``.

* :func:`router` and :func:`create_route`: the router of a surface, at its API root, with its
  error model, and its create route documented with the playground's own request schema.
* :func:`create`: authenticate (key and rehearsal scenario), the surface's own checks of the
  request (``admit``), the key's quota and the counting rehearsals, read and validate the body
  with the playground's rules, refuse oss:// files bound to another key or model, and put the
  request on the board.
* :func:`find`: authenticate, refuse an id no task could have, and look up the caller's own
  task on this surface (None when it is unknown, foreign or expired).
* :func:`status_word`, :func:`result_url`, :func:`task_headers`: what an answer about a task
  says in either shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.requests import Request

from playground.core import contract, wire
from playground.core.polling import State
from playground.core.rules import CheckOptions
from playground.core.schema import request_schema
from playground.core.wire import WireFormat
from playground.sandbox.files import FILES_PREFIX
from playground.sandbox.oss import refuse_unbound
from playground.sandbox.records import Task
from playground.sandbox.runtime import Runtime, authenticate, check_task_id, origin_of, read_json, refusal

# A surface's own checks of a create request, made after the key and before the quota is
# counted; it answers the options the body is validated with, or raises the refusal.
Admit = Callable[[Request], CheckOptions]
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def router(fmt: WireFormat, tag: str, error_model: type[BaseModel], statuses: tuple[int, ...]) -> APIRouter:
    """The surface's router at its API root; ``statuses`` are the error answers it documents."""
    responses: dict[int | str, dict[str, Any]] = {status: {"model": error_model} for status in statuses}
    return APIRouter(prefix=contract.API_ROOT[fmt], tags=[tag], responses=responses)


def create_route(api: APIRouter, runtime: Runtime, fmt: WireFormat, answer_model: type[BaseModel]) -> Decorator:
    """The decorator of the surface's create route, with the format's request schema as its body."""
    schema = {k: v for k, v in request_schema(runtime.config.profile, fmt).items() if k != "$schema"}
    return api.post(
        contract.ENDPOINTS[fmt].create,
        summary="Create a video task",
        responses={200: {"model": answer_model}},
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}},
    )


def header_is(request: Request, name: str, value: str = contract.ENABLE) -> bool:
    """Whether a request sets a header to a value (``X-DashScope-Async: enable``), in any case."""
    return request.headers.get(name, "").strip().lower() == value.lower()


async def create(request: Request, runtime: Runtime, fmt: WireFormat, *, new_id: Callable[[], str],
                 admit: Admit) -> Task:
    """A valid create request on the board as a new task, or the refusal it earns."""
    caller = authenticate(request, fmt, runtime.config)
    options = admit(request)
    throttled = runtime.counters.refusal(caller.scenario, fmt, caller.owner)
    if throttled is not None:
        raise throttled
    body = await read_json(request)
    parsed = wire.parse(body, runtime.config.profile, fmt, options)
    if not parsed.ok or parsed.request is None:
        raise refusal(parsed, fmt)
    assert isinstance(body, dict)
    # A valid body names its model: DashScope's id for the mode, or the gateway's one id.
    model = str(body["model"])
    origin = origin_of(request, runtime.config, caller.owner)
    if options.allow_oss_urls:
        # Temporary uploads are bound to the key and the model they were uploaded for (oss.py).
        await asyncio.to_thread(refuse_unbound, parsed.request, model=model, origin=origin, store=runtime.store,
                                fmt=fmt)
    return runtime.board.submit(
        task_id=new_id(), surface=fmt, owner=caller.owner, model=model, request=parsed.request,
        scenario=caller.scenario, origin=origin,
    )


def find(request: Request, runtime: Runtime, fmt: WireFormat, task_id: str) -> Task | None:
    """The caller's own task on this surface; None when it is unknown, foreign or expired."""
    caller = authenticate(request, fmt, runtime.config)
    check_task_id(task_id)
    return runtime.board.lookup(task_id, fmt, caller.owner)


def status_word(fmt: WireFormat, state: State) -> str:
    """The word this surface writes for a state (contract.WRITTEN_STATUS)."""
    word = contract.written_status(fmt, state)
    if word is None:
        raise ValueError(f"the {fmt} format writes no status word for {state!r}")
    return word


def result_url(base: str, task: Task) -> str:
    """Where a finished task's video is served (the store's results, see files.py)."""
    return f"{base}{FILES_PREFIX}results/{task.task_id}/{task.task_id}.mp4"


def task_headers(runtime: Runtime, task: Task, *, queue_position: bool = False) -> dict[str, str]:
    """The hints a task read carries beyond its body: when to ask again, and the queue position."""
    board = runtime.board
    headers = {contract.SANDBOX_POLL_AFTER_HEADER: str(board.poll_after_ms(task))}
    position = board.queue_position(task) if queue_position else None
    if position is not None:
        headers[contract.SANDBOX_QUEUE_POSITION_HEADER] = str(position)
    return headers
