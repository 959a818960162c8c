"""The contract module holds the facts the client reads and the sandbox writes, and no one else does.

``playground/core/contract.py`` is the one place for paths, headers, status words and answer
fields. The client, the sandbox, the exports and the importer import them; these tests check
that what they do with them matches the contract, and (the last section) that no second copy
of a path or a status word appears anywhere else in ``playground/``.
"""

from __future__ import annotations

import ast
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import pytest

from playground.client.providers import ProviderConfig, created_task, read_task
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
def test_every_word_reads_in_any_case_and_a_new_word_keeps_polling(fmt: WireFormat) -> None:
    """Each word in every spelling of its case is its state; an unheard-of word counts as running."""
    for word, state in contract.STATUS_WORDS[fmt].items():
        for spelled in (word, word.upper(), word.lower(), word.title()):
            assert read_state(fmt, spelled) == state, spelled
    assert read_state(fmt, "no-such-word") == read_state(fmt, "") == contract.UNRECOGNISED_STATE == "running"


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_client_reads_every_word_as_the_contract_does(fmt: WireFormat) -> None:
    """A status answer holding each word: read_task's state is the contract's, in any case."""
    for word, state in contract.STATUS_WORDS[fmt].items():
        for spelled in (word, word.swapcase()):
            answer: dict[str, Any] = (
                {"output": {"task_id": "t", "task_status": spelled}} if fmt == "dashscope"
                else {"task_id": "t", "status": spelled}
            )
            view = read_task(fmt, answer, "t")
            assert view is not None and (view.state, view.provider_status) == (state, spelled)


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
    # A new task is queued, in either format's word.
    created = get_args(bodies.SubmitOutput.model_fields["task_status"].annotation)
    assert created == (contract.written_status("dashscope", "queued"),)
    created = get_args(bodies.GatewayCreated.model_fields["status"].annotation)
    assert created == (contract.written_status("gateway", "queued"),)


def test_the_sandbox_records_spell_each_state_as_the_contract_does() -> None:
    from playground.sandbox.records import Status

    for status in Status:
        assert contract.written_status("dashscope", status.state) == status.value
    assert {status.state for status in Status} == set(STATES) - {"unknown"}  # unknown is no task's


# -- where answers keep things -------------------------------------------------------------------


def test_the_answer_fields_are_the_task_fields_wherever_a_task_stands() -> None:
    for fmt in FORMATS:
        whole, task = vars(ANSWER_FIELDS[fmt]), vars(contract.TASK_FIELDS[fmt])
        for name, paths in task.items():
            expected = [(*at, *path) for at in contract.TASK_AT[fmt] for path in paths]
            assert list(whole[name][: len(expected)]) == expected, (fmt, name)


def test_the_task_object_is_the_innermost_one() -> None:
    naming = contract.TASK_FIELDS["gateway"].status
    assert contract.task_object("gateway", {"task_id": "a", "data": {"task_id": "b"}}) == {"task_id": "b"}
    assert contract.task_object("gateway", {"code": 200, "data": [{"task_id": "c"}]}) == {"task_id": "c"}
    flat = {"status": "queued", "data": {"x": 1}}
    assert contract.task_object("gateway", flat, naming) is flat  # data names no status
    assert contract.task_object("gateway", {"data": {"x": 1}}, naming) is None
    assert contract.task_object("dashscope", {"output": ["x"]}) is None
    assert contract.task_object("dashscope", {"output": {"task_id": "t"}}) == {"task_id": "t"}


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

    assert contract.SCENARIO_HEADER == scenarios.HEADER
    assert contract.SANDBOX_POLL_AFTER_HEADER.lower() in contract.POLL_AFTER_MS_HEADERS
    assert contract.CREATE_HEADERS["dashscope"] == {"X-DashScope-Async": "enable"}
    assert contract.bearer("k") == "Bearer k"


def test_dashscope_hosts() -> None:
    assert contract.is_dashscope_host("DashScope-Intl.aliyuncs.com")
    assert contract.is_dashscope_host("ws-1.ap-southeast-1.maas.aliyuncs.com")
    assert not contract.is_dashscope_host("dashscope.aliyuncs.com.evil.example")
    assert all(url.endswith(contract.API_ROOT["dashscope"]) for url in contract.DASHSCOPE_BASE_URLS.values())


# -- one copy: no path or status word of the contract written again elsewhere --------------------

PACKAGE = Path(__file__).resolve().parents[1] / "playground"
CONTRACT_FILE = PACKAGE / "core" / "contract.py"
# Status words that are also ordinary names elsewhere: an exact match is a copy only where it is
# used as a status (see _status_context); every other word of the tables is a copy anywhere.
SHARED_WORDS = {
    *STATES,  # the polling states (queued, running, ...) are the playground's own words too
    "error",  # a problem's severity, a JSON key
    "failure",  # the sandbox task's failure field
    "expired",  # a run state
}
# Where a copy must stay, and why: (file relative to playground/, the copies allowed there).
LITERAL_COPIES = {
    # pydantic response models need typing.Literal values (the OpenAPI document lists them);
    # test_every_word_the_sandbox_writes_is_in_the_contract holds them to WRITTEN_STATUS.
    "sandbox/bodies.py": "status words inside Literal[...]",
}


def _path_facts() -> tuple[set[str], set[str]]:
    """(strings that are a copy when a constant equals them, strings that are one when it holds them)."""
    exact = {*contract.API_ROOT.values(), contract.SANDBOX_UPLOAD_PATH, *contract.DASHSCOPE_BASE_URLS.values()}
    held: set[str] = set()
    for endpoints in ENDPOINTS.values():
        for path in (endpoints.create, endpoints.task, endpoints.cancel, endpoints.task_list, endpoints.files):
            if path is None:
                continue
            exact.add(path)
            # The pieces a template splits into around the task id ("/tasks/", "/cancel").
            exact.update(piece for piece in path.split(contract.TASK_ID_SLOT) if piece)
        held |= {endpoints.create, endpoints.task_prefix()}  # long enough to be nothing else
    return exact, held


PATHS_EXACT, PATHS_HELD = _path_facts()
DASHSCOPE_WORDS = set(contract.DASHSCOPE_STATUS)
ALL_WORDS = DASHSCOPE_WORDS | set(contract.GATEWAY_STATUS)
ALWAYS_WORDS = ALL_WORDS - SHARED_WORDS


@dataclass(frozen=True)
class Copy:
    where: str
    line: int
    value: str
    why: str

    def __str__(self) -> str:
        return f"{self.where}:{self.line}: {self.value!r} ({self.why})"


def _mentions_status(node: ast.AST) -> bool:
    """Whether an expression names a status: a variable, attribute or JSON key with 'status' in it."""
    for inner in ast.walk(node):
        name = (inner.id if isinstance(inner, ast.Name) else inner.attr if isinstance(inner, ast.Attribute)
                else inner.value if isinstance(inner, ast.Constant) and isinstance(inner.value, str) else "")
        if "status" in name.lower():
            return True
    return False


def _word_constants(node: ast.AST) -> list[ast.Constant]:
    """The status-word constants an operand is, or holds (a tuple or set of them)."""
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return [n for n in items if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in ALL_WORDS]


def _status_context(tree: ast.AST) -> dict[int, str]:
    """The ids of word constants used as a status, with how: compared with, defaulting or passed as one."""
    used: dict[int, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for i, operand in enumerate(operands):
                if any(_mentions_status(other) for j, other in enumerate(operands) if j != i):
                    used |= {id(c): "compared with a status" for c in _word_constants(operand)}
        elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            for i, operand in enumerate(node.values):
                if any(_mentions_status(other) for other in node.values[:i]):
                    used |= {id(c): "the default of a status" for c in _word_constants(operand)}
        elif isinstance(node, ast.keyword) and node.arg is not None and "status" in node.arg.lower():
            used |= {id(c): f"passed as {node.arg}=" for c in _word_constants(node.value)}
    return used


def _skipped(tree: ast.AST, literal_ok: bool) -> set[int]:
    """Docstrings and other bare string statements (prose), and Literal[...] values where allowed."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            skipped.add(id(node.value))
        if literal_ok and isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id == "Literal":
            skipped |= {id(inner) for inner in ast.walk(node.slice)}
    return skipped


def copies_in(source: str, where: str) -> list[Copy]:
    """Every contract path or status word that a module's code writes out again."""
    tree = ast.parse(source)
    skipped = _skipped(tree, where in LITERAL_COPIES)
    as_status = _status_context(tree)
    found: list[Copy] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str) or id(node) in skipped:
            continue
        value = node.value
        if value in PATHS_EXACT:
            why = "a contract path"
        elif any(path in value for path in PATHS_HELD):
            why = "holds a contract path"
        elif value in ALWAYS_WORDS:
            why = "a DashScope status word" if value in DASHSCOPE_WORDS else "a gateway status word"
        elif id(node) in as_status:
            why = f"a status word {as_status[id(node)]}"
        else:
            continue
        found.append(Copy(where, node.lineno, value, why))
    return found


def test_no_second_copy_of_a_path_or_status_word() -> None:
    """Outside contract.py, playground/ writes no endpoint path and no status word of its own.

    The paths (and the pieces of a task URL), as whole string constants or f-string pieces; the
    DashScope words and the gateway words no other name shares, anywhere; and every status
    word where it is used as one (compared with, the default of, or passed as a status).
    """
    copies = [
        copy
        for path in sorted(PACKAGE.rglob("*.py")) if path != CONTRACT_FILE
        for copy in copies_in(path.read_text("utf-8"), path.relative_to(PACKAGE).as_posix())
    ]
    assert not copies, "import these from playground.core.contract instead:\n" + "\n".join(map(str, copies))


@pytest.mark.parametrize(
    "line",
    [
        'url = f"{base}/tasks/{task_id}"',
        'url = base + "/videos/generations"',
        'PREFIX = "/api/v1"',
        'URL = "https://dashscope-intl.aliyuncs.com/api/v1"',
        'path = "/v1/files"',
        'url = task_url + "/cancel"',
        'doc = "POST /services/aigc/video-generation/video-synthesis with the body"',
        'TABLE = {"PENDING": "queued"}',
        'done = word in ("completed", "success")',
        'ok = body.get("status") == "failed"',
        'status = answer.get("status") or "queued"',
        'body = Created(task_id=t, status="queued")',
        'if output["task_status"] in ("failed", "error"): pass',
    ],
)
def test_the_copy_check_finds_a_copy(line: str) -> None:
    assert copies_in(line, "client/example.py"), line


@pytest.mark.parametrize(
    "line",
    [
        '"""Docstrings may say GET /tasks/{task_id} and PENDING."""',
        'state = "queued" if waiting else "running"',
        'if event.state in ("queued", "running"): pass',
        'yield r.emit("failed", "the task failed")',
        'severity = "error"',
        'LABELS = {"queued": "Queued", "succeeded": "Done"}',
        'FILES = "/files/"',
    ],
)
def test_the_copy_check_leaves_other_strings_alone(line: str) -> None:
    assert not copies_in(line, "client/example.py"), line


def test_literal_copies_are_allowed_only_where_listed() -> None:
    line = 'Word = Literal["PENDING", "RUNNING"]\nstatus: Literal["queued"] = "queued"'
    assert not copies_in(line, "sandbox/bodies.py")
    assert len(copies_in(line, "sandbox/routes.py")) == 2  # the Literal's DashScope words
