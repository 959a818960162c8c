"""Every rehearsal scenario, over real HTTP, on both surfaces, with the counts scenarios.py documents."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from playground.sandbox.scenarios import SCENARIOS
from tests.fixtures_sandbox import auth, dashscope_headers, wait_dashscope, wait_gateway

T2V_DASHSCOPE = {"model": "wan2.7-t2v", "input": {"prompt": "rehearsal"},
                 "parameters": {"resolution": "720P", "duration": 2}}
T2V_GATEWAY = {"model": "wan-2-7-video", "mode": "text-to-video",
               "input": {"prompt": "rehearsal", "resolution": "720P", "duration": 2}}


def moment(text: str) -> float:
    """Seconds since the epoch of a DashScope time (UTC+8, YYYY-MM-DD HH:mm:ss.SSS)."""
    return datetime.strptime(text + "+0800", "%Y-%m-%d %H:%M:%S.%f%z").timestamp()


def submit_dashscope(client: httpx.Client, base: str, key: str, scenario: str | None = None) -> httpx.Response:
    return client.post(f"{base}/api/v1/services/aigc/video-generation/video-synthesis", json=T2V_DASHSCOPE,
                       headers=dashscope_headers(key, scenario))


def submit_gateway(client: httpx.Client, base: str, key: str, scenario: str | None = None) -> httpx.Response:
    return client.post(f"{base}/v1/videos/generations", json=T2V_GATEWAY, headers=auth(key, scenario))


@pytest.mark.parametrize("surface", ["dashscope", "gateway"])
def test_rate_limit_refuses_the_first_two_submits_with_retry_after(
    client: httpx.Client, sandbox_base: str, fresh_key: str, surface: str
) -> None:
    submit = submit_dashscope if surface == "dashscope" else submit_gateway
    answers = [submit(client, sandbox_base, fresh_key, "rate_limit") for _ in range(6)]
    # Two refusals, a success, and the cycle replays for the next rehearsal with the same key.
    assert [a.status_code for a in answers] == [429, 429, 200, 429, 429, 200]
    for refused in answers[:2]:
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["content-type"] == "application/json"
        if surface == "dashscope":
            assert refused.json()["code"] == "Throttling.RateQuota"
            assert refused.json()["request_id"] == refused.headers["x-request-id"]
        else:
            assert refused.json()["error"]["type"] == "rate_limit_exceeded"
    assert SCENARIOS["rate_limit"].failing_submits == 2


@pytest.mark.parametrize("surface", ["dashscope", "gateway"])
def test_server_error_is_transient(client: httpx.Client, sandbox_base: str, fresh_key: str, surface: str) -> None:
    submit = submit_dashscope if surface == "dashscope" else submit_gateway
    answers = [submit(client, sandbox_base, fresh_key, "server_error") for _ in range(3)]
    assert [a.status_code for a in answers] == [500, 500, 200]
    first = answers[0].json()
    if surface == "dashscope":
        assert first["code"] == "InternalError"
    else:
        assert (first["error"]["type"], first["error"]["code"]) == ("internal_error", "internal_error")


def test_invalid_key_refuses_every_request(client: httpx.Client, sandbox_base: str) -> None:
    """The scenario header, or any key starting sk-invalid, gets 401 on every route."""
    # A task that fails needs no render: any existing task id will do here.
    created = submit_gateway(client, sandbox_base, "sk-test-sandbox", "task_failed").json()["task_id"]
    requests = [
        ("POST", "/api/v1/services/aigc/video-generation/video-synthesis", "dashscope"),
        ("GET", "/api/v1/tasks/abc", "dashscope"),
        ("GET", f"/v1/videos/generations/{created}", "gateway"),
        ("POST", "/v1/videos/generations", "gateway"),
        ("POST", "/v1/files", "gateway"),
    ]
    for method, path, surface in requests:
        for headers in (dashscope_headers(scenario="invalid_key"), dashscope_headers("sk-invalid-key")):
            answer = client.request(method, sandbox_base + path, headers=headers, json={})
            assert answer.status_code == 401, (path, answer.text)
            body = answer.json()
            if surface == "dashscope":
                assert body["code"] == "InvalidApiKey"
            else:
                assert body["error"]["type"] == "authentication_error"
    wait_gateway(client, sandbox_base, created)


def test_task_failed_ends_with_a_moderation_code(client: httpx.Client, sandbox_base: str) -> None:
    dashscope_id = submit_dashscope(client, sandbox_base, "sk-test-sandbox", "task_failed").json()["output"]["task_id"]
    gateway_id = submit_gateway(client, sandbox_base, "sk-test-sandbox", "task_failed").json()["task_id"]
    output = wait_dashscope(client, sandbox_base, dashscope_id)["output"]
    assert (output["task_status"], output["code"]) == ("FAILED", "DataInspectionFailed")
    assert "inappropriate" in output["message"] and "video_url" not in output
    failed = wait_gateway(client, sandbox_base, gateway_id)
    assert (failed["status"], failed["error"]["code"]) == ("failed", "DataInspectionFailed")


def test_slow_queues_and_runs_much_longer(client: httpx.Client, sandbox_base: str) -> None:
    """At the shared delay scale a slow task stays PENDING ~0.9 s and reports where it queues."""
    started = time.monotonic()
    task_id = submit_dashscope(client, sandbox_base, "sk-test-sandbox", "slow").json()["output"]["task_id"]
    first = client.get(f"{sandbox_base}/api/v1/tasks/{task_id}", headers=auth())
    assert first.json()["output"]["task_status"] == "PENDING"
    assert first.headers["x-sandbox-queue-position"].isdigit()
    assert "scheduled_time" not in first.json()["output"]
    done = wait_dashscope(client, sandbox_base, task_id)["output"]
    assert done["task_status"] == "SUCCEEDED"
    queued = moment(done["scheduled_time"]) - moment(done["submit_time"])
    running = moment(done["end_time"]) - moment(done["scheduled_time"])
    assert queued >= 0.85 and running >= 0.7  # normal tasks: ~0.06 s and ~0.13 s at this scale
    assert time.monotonic() - started >= queued + running


def test_wrong_endpoint_answers_like_a_misrouted_gateway(client: httpx.Client, sandbox_base: str) -> None:
    answer = submit_gateway(client, sandbox_base, "sk-test-sandbox", "wrong_endpoint")
    assert answer.status_code == 500
    assert answer.json() == {"error": {"message": "invalid api type: -1", "type": "new_api_error",
                                       "param": "", "code": "invalid_api_type"}}
    native = submit_dashscope(client, sandbox_base, "sk-test-sandbox", "wrong_endpoint")
    assert (native.status_code, native.json()["code"]) == (400, "InvalidParameter")
    assert native.json()["message"] == "url error, please check url!"


def test_expired_reads_unknown_and_the_video_is_gone(client: httpx.Client, sandbox_base: str) -> None:
    dashscope_id = submit_dashscope(client, sandbox_base, "sk-test-sandbox", "expired").json()["output"]["task_id"]
    gateway_id = submit_gateway(client, sandbox_base, "sk-test-sandbox", "expired").json()["task_id"]
    assert wait_dashscope(client, sandbox_base, dashscope_id)["output"] == {
        "task_id": dashscope_id, "task_status": "UNKNOWN"
    }
    done: dict[str, Any] = wait_gateway(client, sandbox_base, gateway_id)
    assert done["status"] == "completed"
    expires = datetime.fromisoformat(done["expires_at"].replace("Z", "+00:00"))
    assert expires <= datetime.now(UTC)
    gone = client.get(done["result"]["url"])
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "file_expired"


def test_unknown_scenario_is_refused_with_the_names_it_knows(client: httpx.Client, sandbox_base: str) -> None:
    answer = submit_gateway(client, sandbox_base, "sk-test-sandbox", "meteor_strike")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_scenario", "X-Sandbox-Scenario")
    assert all(name in error["message"] for name in SCENARIOS)
    native = submit_dashscope(client, sandbox_base, "sk-test-sandbox", "meteor_strike")
    assert (native.status_code, native.json()["code"]) == (400, "InvalidParameter")


def test_no_header_is_the_happy_path(client: httpx.Client, sandbox_base: str, fresh_key: str) -> None:
    answers = [submit_gateway(client, sandbox_base, fresh_key) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    for answer in answers:
        assert wait_gateway(client, sandbox_base, answer.json()["task_id"], fresh_key)["status"] == "completed"
