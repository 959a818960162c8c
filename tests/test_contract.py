"""The contract module holds the same facts the client reads and the sandbox writes.

``playground/core/contract.py`` is the one place for paths, headers, status words and answer
fields. Until the client and the sandbox import it, these tests hold the copies to it: a word,
a path or a header that drifts in one place fails here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest

from playground.client import providers
from playground.client.providers import ProviderConfig, created_task, map_state, read_task
from playground.core import contract
from playground.core.contract import ANSWER_FIELDS, ENDPOINTS, pick, read_state
from playground.core.polling import STATES, TERMINAL
from playground.core.wire import FORMATS, WireFormat

# Answers as the sources show them (§1.5, §2.1-2.4, §4(a) of the reference).
GATEWAY_ANSWERS: list[dict[str, Any]] = [
    {"task_id": "task_1", "status": "completed", "result": {"type": "video", "url": "https://r/1.mp4"}},
    {"id": "video_2", "object": "generation.task", "status": "success", "result": {"url": "https://r/2.mp4"},
     "input": {"media": [{"url": "https://decoy/in.png"}]}},
    {"id": "task-unified-3", "status": "completed", "results": ["https://r/3.mp4"]},
    {"code": 200, "data": {"task_id": "task_4", "status": "failed", "error": {"code": "x", "message": "m"}}},
    {"task_id": "task_5", "status": "in_progress", "progress": 40},
    {"id": "task_6", "status": "COMPLETED", "video_url": "https://r/6.mp4"},
]
DASHSCOPE_ANSWERS: list[dict[str, Any]] = [
    {"request_id": "r", "output": {"task_id": "t1", "task_status": "SUCCEEDED", "video_url": "https://r/1.mp4"}},
    {"request_id": "r", "output": {"task_id": "t2", "task_status": "FAILED", "code": "InvalidParameter",
                                   "message": "The size does not match"}},
    {"request_id": "r", "output": {"task_id": "t3", "task_status": "RUNNING"}},
    {"request_id": "r", "output": {"task_id": "t4", "task_status": "UNKNOWN"}},
]
ANSWERS: dict[WireFormat, list[dict[str, Any]]] = {"gateway": GATEWAY_ANSWERS, "dashscope": DASHSCOPE_ANSWERS}


# -- status words -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_word_reads_as_the_client_reads_it(fmt: WireFormat) -> None:
    """Each word, in both cases, and an unheard-of word: the same state as client/providers.py."""
    for word in [*contract.STATUS_WORDS[fmt], "no-such-word", ""]:
        for spelled in (word, word.upper(), word.lower(), word.title()):
            assert read_state(fmt, spelled) == map_state(fmt, spelled), spelled


def test_the_tables_are_the_clients_tables() -> None:
    """The client's private copies hold the same words (trivially so once it imports these)."""
    assert dict(contract.DASHSCOPE_STATUS) == dict(getattr(providers, "_DASHSCOPE_STATES", contract.DASHSCOPE_STATUS))
    assert dict(contract.GATEWAY_STATUS) == dict(getattr(providers, "_GATEWAY_STATES", contract.GATEWAY_STATUS))


@pytest.mark.parametrize("fmt", FORMATS)
def test_success_failure_and_the_rest_split_every_word(fmt: WireFormat) -> None:
    words = contract.STATUS_WORDS[fmt]
    ends = set(contract.success_words(fmt)) | set(contract.failure_words(fmt))
    assert not set(contract.success_words(fmt)) & set(contract.failure_words(fmt))
    assert ends == {w for w, state in words.items() if state in TERMINAL}
    assert set(words.values()) <= set(STATES)
    assert all(contract.fold_status(fmt, w) == w for w in words)  # written in the folded case


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_words_providers_write_read_back_as_their_state(fmt: WireFormat) -> None:
    for state in STATES:
        word = contract.written_status(fmt, state)
        if word is None:
            assert (fmt, state) == ("gateway", "unknown")  # a gateway answers 404 instead
        elif (fmt, state) == ("gateway", "canceled"):
            assert read_state(fmt, word) == "failed"  # the guide's four words have no "canceled"
        else:
            assert read_state(fmt, word) == state
    assert read_state(fmt, contract.CREATED_STATUS[fmt]) == "queued"


def test_every_word_the_sandbox_writes_is_in_the_contract() -> None:
    from playground.sandbox import bodies

    dashscope = get_args(bodies.TaskOutput.model_fields["task_status"].annotation)
    assert set(dashscope) == set(contract.WRITTEN_STATUS["dashscope"].values())
    assert set(get_args(bodies.GatewayStatus)) == set(contract.WRITTEN_STATUS["gateway"].values())


# -- where answers keep things -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_answer_fields_read_what_the_client_reads(fmt: WireFormat) -> None:
    """Task id, status, video URL and error of sample answers: pick() agrees with read_task()."""
    fields = ANSWER_FIELDS[fmt]
    for answer in ANSWERS[fmt]:
        view = read_task(fmt, answer, "fallback")
        assert view is not None
        assert pick(answer, fields.status) == view.provider_status
        assert pick(answer, fields.video_url) == view.video_url
        assert (pick(answer, fields.task_id) or "fallback") == view.task_id
        assert pick(answer, fields.error_message) == view.error_message
        if view.error_code is not None:
            assert pick(answer, fields.error_code) == view.error_code


def test_create_answers_name_the_task_where_the_client_finds_it() -> None:
    for answer in ({"task_id": "a"}, {"id": "b"}, {"taskId": "c"}, {"code": 200, "data": [{"task_id": "d"}]},
                   {"data": {"taskId": "e"}}):
        found = created_task("gateway", answer)
        assert found is not None and pick(answer, ANSWER_FIELDS["gateway"].task_id) == found[0]


def test_pick_follows_keys_and_indexes_only() -> None:
    answer = {"a": [{"b": "x"}, "y"], "n": 5, "e": ""}
    assert pick(answer, [("a", 0, "b")]) == "x"
    assert pick(answer, [("a", 1)]) == "y"
    assert pick(answer, [("a", 2), ("a", "0"), ("n",), ("e",), ("a", 0, "b", "c")]) is None
    assert pick(["x"], [(0,)]) == "x" and pick(None, [("a",)]) is None
    assert contract.at_path(answer, ()) is answer


# -- endpoints and headers ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("task_id", ["t-1", "../x", "a/b?c#d", ".", "..", "100%", "猫", "{task_id}"])
def test_the_clients_urls_are_the_contracts_paths(fmt: WireFormat, task_id: str) -> None:
    kind = "dashscope" if fmt == "dashscope" else "gateway"
    provider = ProviderConfig(kind=kind, wire=fmt, base_url="https://h.example/api")
    endpoints = ENDPOINTS[fmt]
    assert provider.create_url() == provider.api_base + endpoints.create
    assert provider.task_url(task_id) == provider.api_base + endpoints.task_path(task_id)
    assert provider.cancel_url(task_id) == provider.api_base + endpoints.cancel_path(task_id)
    assert "/" not in contract.task_segment(task_id) and contract.task_segment(task_id) not in (".", "..")


def test_sandbox_api_roots_match_the_clients() -> None:
    for fmt in FORMATS:
        sandbox = ProviderConfig(kind="sandbox", wire=fmt, base_url="http://127.0.0.1:1/sandbox")
        assert sandbox.api_base == "http://127.0.0.1:1/sandbox" + contract.API_ROOT[fmt]


@pytest.fixture(scope="module")
def sandbox_paths() -> Iterator[dict[str, set[str]]]:
    """The sandbox's routes, from its OpenAPI document (no server is started)."""
    from playground.core.profile import load_profile
    from playground.sandbox.app import create_sandbox
    from playground.sandbox.config import SandboxConfig

    with tempfile.TemporaryDirectory() as folder:
        app = create_sandbox(SandboxConfig(data_dir=Path(folder), profile=load_profile()))
        yield {path: set(methods) for path, methods in app.openapi()["paths"].items()}


def test_the_sandbox_serves_every_path_of_the_contract(sandbox_paths: dict[str, set[str]]) -> None:
    """Every endpoint with its method; the gateway's cancel is the one the guide does not document."""
    for fmt in FORMATS:
        root, endpoints = contract.API_ROOT[fmt], ENDPOINTS[fmt]
        assert "post" in sandbox_paths[root + endpoints.create]
        assert "get" in sandbox_paths[root + endpoints.task]
        assert "post" in sandbox_paths[root + endpoints.files] or "get" in sandbox_paths[root + endpoints.files]
        if endpoints.task_list is not None:
            assert "get" in sandbox_paths[root + endpoints.task_list]
    assert "post" in sandbox_paths["/api/v1" + ENDPOINTS["dashscope"].cancel]
    assert "/v1" + ENDPOINTS["gateway"].cancel not in sandbox_paths


def test_header_names_agree_with_the_client_and_the_sandbox() -> None:
    from playground.sandbox import scenarios

    assert contract.SCENARIO_HEADER == providers.SCENARIO_HEADER == scenarios.HEADER
    assert contract.SANDBOX_POLL_AFTER_HEADER.lower() in contract.POLL_AFTER_MS_HEADERS
    assert contract.CREATE_HEADERS["dashscope"] == {"X-DashScope-Async": "enable"}
    assert contract.bearer("k") == "Bearer k"


def test_dashscope_hosts() -> None:
    assert contract.is_dashscope_host("DashScope-Intl.aliyuncs.com")
    assert contract.is_dashscope_host("ws-1.ap-southeast-1.maas.aliyuncs.com")
    assert not contract.is_dashscope_host("dashscope.aliyuncs.com.evil.example")
    assert all(url.endswith(contract.API_ROOT["dashscope"]) for url in contract.DASHSCOPE_BASE_URLS.values())
