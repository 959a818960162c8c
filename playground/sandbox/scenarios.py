"""Rehearsal scenarios, chosen per request with the header ``X-Sandbox-Scenario``.

This table is a contract: clients test their retry and error handling against these exact
numbers. No header (or an empty one) is the happy path; an unknown name is refused with 400.

============== ===========================================================================
scenario       what happens
============== ===========================================================================
rate_limit     The first 2 submits (per API key and surface) answer 429 with
               ``Retry-After: 1`` (DashScope ``Throttling.RateQuota``, gateway
               ``rate_limit_exceeded``/``rate_limited``); the 3rd succeeds, and the cycle
               starts over (2 refusals, 1 success, ...).
server_error   The first 2 submits (per API key and surface) answer 500 (DashScope
               ``InternalError``, gateway ``internal_error``); the 3rd succeeds, and the cycle
               starts over.
invalid_key    Every request answers 401 (``InvalidApiKey`` / ``authentication_error``).
               A key starting with ``sk-invalid`` gets the same without the header.
task_failed    The submit succeeds; the task runs, then ends FAILED / failed with code
               ``DataInspectionFailed`` (the moderation failure).
slow           The submit succeeds; the task queues 15x and runs 6x longer than normal
               (about 45 s queued and a minute or more running at delay scale 1).
wrong_endpoint Gateway: every request answers 500 ``{"error": {"message": "invalid api type:
               -1", "type": "new_api_error", "code": "invalid_api_type"}}``, what new-api
               gateways send when a model is routed to a channel that cannot serve the
               route. DashScope: 400 ``InvalidParameter`` "url error, please check url!".
expired        The submit succeeds and the task runs; once it ends its video is deleted, as
               after the 24 h retention: DashScope reads the task as UNKNOWN, the gateway
               shows it completed with an ``expires_at`` in the past and its result URL
               answers 404 ``file_expired``.
============== ===========================================================================

Scenarios that shape a response (``invalid_key``, ``wrong_endpoint``, and ``rate_limit`` /
``server_error`` on submits) act on the request that carries the header. Scenarios that shape
a task (``task_failed``, ``slow``, ``expired``) are read from the submit and stay with the
task; on other requests they change nothing. File downloads (``/sandbox/files``) and the
upload bucket (``/sandbox/oss``) take no key and ignore the header. The counting scenarios run
in cycles, so the same key sees the failures again on its next rehearsal.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from playground.core.contract import SCENARIO_HEADER
from playground.sandbox import errors
from playground.sandbox.errors import ApiError

HEADER = SCENARIO_HEADER
Surface = Literal["dashscope", "gateway"]


@dataclass(frozen=True)
class Scenario:
    """One row of the table above."""

    name: str
    summary: str
    # Submits (per key and surface) that fail before the first success; 0 = none fail.
    failing_submits: int = 0
    retry_after_s: int | None = None
    every_request_status: int | None = None
    queue_factor: float = 1.0
    run_factor: float = 1.0
    fail_code: str | None = None
    fail_message: str | None = None
    expire_on_end: bool = False


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("rate_limit", "429 with Retry-After on the first submits, then success",
                 failing_submits=2, retry_after_s=1),
        Scenario("server_error", "transient 500s on the first submits, then success", failing_submits=2),
        Scenario("invalid_key", "401 on every request", every_request_status=401),
        Scenario("task_failed", "the task ends FAILED with a moderation code",
                 fail_code="DataInspectionFailed",
                 fail_message="Input or output data may contain inappropriate content."),
        Scenario("slow", "long queue and long run", queue_factor=15.0, run_factor=6.0),
        Scenario("wrong_endpoint", "the gateway's 'invalid api type: -1'", every_request_status=500),
        Scenario("expired", "the task reads as expired once it ends; its video is gone", expire_on_end=True),
    )
}


def parse(value: str | None) -> Scenario | None:
    """The scenario a header value names; None for no header; 400 for an unknown name."""
    if value is None or not value.strip():
        return None
    name = value.strip().lower().replace("-", "_")
    if name in SCENARIOS:
        return SCENARIOS[name]
    raise errors.bad_parameter(
        f"unknown {HEADER} {value[:40]!r}; use one of {', '.join(SCENARIOS)} or leave the header out",
        param=HEADER, gateway_code="invalid_scenario",
    )


def response_error(scenario: Scenario | None, surface: Surface) -> ApiError | None:
    """The refusal a scenario forces on any request, whatever it asks."""
    if scenario is None or scenario.every_request_status is None:
        return None
    if scenario.name == "invalid_key":
        return errors.invalid_key(f"(the {HEADER}: invalid_key scenario)")
    if surface == "gateway":
        return ApiError(500, "InternalError", "invalid api type: -1", gateway_code="invalid_api_type",
                        gateway_type="new_api_error", param="")
    return errors.bad_parameter("url error, please check url!")


def submit_error(scenario: Scenario, surface: Surface) -> ApiError:
    """The refusal of a submit that a counting scenario makes fail."""
    if scenario.retry_after_s is not None:
        return ApiError(
            429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later.",
            gateway_code="rate_limited", headers={"Retry-After": str(scenario.retry_after_s)},
        )
    return ApiError(
        500, "InternalError", "An internal error has occured, please try again later or contact service support.",
        gateway_code="internal_error",
    )


class SubmitCounters:
    """How many submits each (surface, key, scenario) has made, for the counting scenarios."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._seen: OrderedDict[tuple[str, str, str], int] = OrderedDict()
        self._capacity = capacity

    def refusal(self, scenario: Scenario | None, surface: Surface, key: str) -> ApiError | None:
        """Count this submit; the refusal it gets if it is among the first failing ones."""
        if scenario is None or scenario.failing_submits == 0:
            return None
        slot = (surface, key, scenario.name)
        count = self._seen.pop(slot, 0) + 1
        # After the success that ends a cycle the count starts over, so a presenter can show the
        # same failure again and again with one key (and resumed runs keep their key).
        self._seen[slot] = 0 if count > scenario.failing_submits else count
        while len(self._seen) > self._capacity:  # many throwaway keys must not grow memory
            self._seen.popitem(last=False)
        return submit_error(scenario, surface) if count <= scenario.failing_submits else None
