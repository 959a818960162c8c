"""Exported code runs the whole loop for real: submit, poll, download, and fail loudly.

The bash and Python scripts (and the Node one, when Node 18+ is installed) run as
subprocesses against the shared sandbox over loopback, and against a small stub server that
plays the answers the sandbox cannot be asked for without a header the scripts never send: a
task that fails, a 503 on a status check, an escaped video URL, every other gateway's status
words (success, failure, error), and an answer whose first "url" is not the video's. The bash
script runs once more without jq on its PATH, so its python3 reading is exercised too. Every
run starts at once and is awaited by its own test, so the scripts' 2-second first wait is paid
once per module.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.core import contract
from playground.core.profile import load_profile
from playground.core.snippets import (
    DEFAULT_KEY_ENV,
    curl_script,
    javascript_script,
    python_script,
    wire_json,
)
from playground.core.wire import WireFormat, parse
from playground.media.probe import probe
from tests.fixtures_servers import http_server

CANARY = "sk-canary-7f3a9c"
FORMATS: tuple[WireFormat, ...] = ("dashscope", "gateway")
# Quotes of every kind, shell and template syntax, a placeholder-like word and non-ASCII text:
# everything that could break out of a heredoc, a Python literal or a JS object.
TRICKY = "A cat's \"top hat\" costs $HOME `id` ${x} @OUT@ \\n back\\slash, 猫, ‘curly’"
BODIES: dict[WireFormat, dict[str, Any]] = {
    "dashscope": {
        "model": "wan2.7-t2v",
        "input": {"prompt": TRICKY},
        "parameters": {"resolution": "720P", "ratio": "16:9", "duration": 2, "prompt_extend": False},
    },
    "gateway": {
        "model": "wan-2-7-video",
        "mode": "text-to-video",
        "input": {"prompt": TRICKY, "resolution": "720P", "aspect_ratio": "9:16", "duration": 2},
    },
}
SIZES: dict[WireFormat, tuple[int, int]] = {"dashscope": (1280, 720), "gateway": (720, 1280)}
MakeScript = Callable[..., str]


def _node_major() -> int | None:
    node = shutil.which("node")
    if node is None:
        return None
    found = re.match(r"v(\d+)", subprocess.run([node, "--version"], capture_output=True, text=True).stdout)
    return int(found.group(1)) if found else 0


NODE = _node_major()


@dataclass(frozen=True)
class Flavour:
    name: str
    make: MakeScript
    suffix: str
    command: tuple[str, ...]


FLAVOURS = {
    "curl": Flavour("curl", curl_script, ".sh", ("bash",)),
    "python": Flavour("python", python_script, ".py", (sys.executable,)),
    "node": Flavour("node", javascript_script, ".js", ("node",)),
}
RUNNABLE = ["curl", "python", "node"] if NODE is not None and NODE >= 18 else ["curl", "python"]


def _environment(key: str, path: str | None = None) -> dict[str, str]:
    # Only what the interpreters need, and a key under each name the scripts may read.
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT")}
    if path is not None:
        keep["PATH"] = path
    keep.update({env: key for env in DEFAULT_KEY_ENV.values()})
    # The Python script imports httpx from this interpreter's site-packages.
    keep["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return keep


@dataclass
class Launched:
    """One script started in its own folder; ``finish`` waits for it."""

    folder: Path
    script: str
    process: subprocess.Popen[str]
    result: tuple[int, str, str] | None = None

    def finish(self, timeout: float = 90) -> tuple[int, str, str]:
        if self.result is None:
            out, err = self.process.communicate(timeout=timeout)
            self.result = (self.process.returncode, out, err)
        return self.result


def launch(folder: Path, flavour: Flavour, script: str, key: str = CANARY, path: str | None = None) -> Launched:
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / f"create_video{flavour.suffix}"
    file.write_text(script, "utf-8")
    process = subprocess.Popen(
        [*flavour.command, str(file)], cwd=folder, env=_environment(key, path),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
    )
    return Launched(folder, script, process)


def _api_base(root: str, fmt: WireFormat) -> str:
    return f"{root}/sandbox/api/v1" if fmt == "dashscope" else f"{root}/sandbox/v1"


# Gateway status words the sandbox never writes (it writes the guide's four), but gateways do.
WORDS = ("success", "failure", "error")
NO_JQ_CASES = (("ok", "dashscope"), ("success", "gateway"), ("error", "gateway"))


def bin_without_jq(folder: Path) -> str:
    """A PATH holding only what the bash script runs besides its builtins: no jq."""
    folder.mkdir(parents=True, exist_ok=True)
    for tool in ("curl", "sleep", "tr"):
        found = shutil.which(tool)
        assert found is not None, tool
        (folder / tool).symlink_to(found)
    (folder / "python3").symlink_to(sys.executable)
    assert shutil.which("jq", path=str(folder)) is None
    return str(folder)


# -- a stub that plays what the sandbox cannot be asked for --------------------------------------


@dataclass
class Stub:
    """A tiny HTTP server: DashScope under /<run>/api/v1, the gateway under /<run>/v1.

    A run path starting ``ok``: the first status check answers 503, the second success, with a
    video URL written with JSON escapes (each slash as backslash-slash, the ampersand as
    backslash-u0026), as some encoders write them. Starting ``fail``: the task ends failed.
    Starting with a word of :data:`WORDS` (gateway only): the first status check answers with
    that status word; ``success`` names a decoy "url" (an input's) before the result's.
    """

    root: str = ""
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        with self.lock:
            self.requests.append((method, path, headers, body))
        if path.startswith("/files/decoy"):
            return 200, b"decoy bytes: the wrong url was read"
        if path.startswith("/files/"):
            return 200, b"stub video bytes"
        run, _, rest = path.lstrip("/").partition("/")
        case = run.split("-")[0]
        if method == "POST" and rest == "api/v1/services/aigc/video-generation/video-synthesis":
            return 200, json.dumps({"request_id": "r", "output": {"task_id": f"{run}-d", "task_status": "PENDING"}}
                                   ).encode()
        if method == "POST" and rest == "v1/videos/generations":
            # OpenAI-style task objects name the id "id", not "task_id": the scripts accept both.
            return 200, json.dumps({"id": f"{run}-g", "status": "queued"}).encode()
        task = rest.rsplit("/", 1)[-1]
        with self.lock:
            self.polls[task] = count = self.polls.get(task, 0) + 1
        if case == "ok" and count == 1:
            return 503, b'{"code": "ServiceUnavailable", "message": "busy"}'
        if case in WORDS:
            return 200, self.worded(case, task)
        dashscope = rest.startswith("api/v1/")
        url = (self.root + f"/files/{task}.mp4?Expires=1&Signature=a").replace("/", "\\/").replace("&", "\\u0026")
        if case == "ok" and dashscope:
            text = f'{{"output": {{"task_id": "{task}", "task_status": "SUCCEEDED", "video_url": "{url}"}}}}'
        elif case == "ok":
            text = f'{{"id": "{task}", "status": "completed", "result": {{"type": "video", "url": "{url}"}}}}'
        elif dashscope:
            text = json.dumps({"output": {"task_id": task, "task_status": "FAILED", "code": "DataInspectionFailed",
                                          "message": "Output data may contain inappropriate content."}})
        else:
            text = json.dumps({"id": task, "status": "failed", "error": {
                "code": "content_policy", "message": "Output data may contain inappropriate content."}})
        return 200, text.encode()

    def worded(self, word: str, task: str) -> bytes:
        if word != "success":
            error = {"code": "content_policy", "message": "Output data may contain inappropriate content."}
            return json.dumps({"id": task, "status": word, "error": error}).encode()
        # The input's "url" comes first in the text: a grep for the first "url" would take it.
        decoy = {"type": "first_frame", "url": self.root + "/files/decoy.png"}
        return json.dumps({"id": task, "status": word, "input": {"media": [decoy]},
                           "result": {"type": "video", "url": self.root + f"/files/{task}.mp4"}}).encode()


@contextlib.contextmanager
def serve_stub() -> Iterator[Stub]:
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload = state.answer(self.command, self.path, dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Type", "video/mp4" if self.path.startswith("/files/") else "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, *args: Any) -> None:
            pass

    with http_server(Handler) as root:
        state.root = root
        yield state


# -- every run, started at once --------------------------------------------------------------------


@dataclass
class Runs:
    stub: Stub
    launched: dict[str, Launched]

    def __getitem__(self, name: str) -> Launched:
        return self.launched[name]


@pytest.fixture(scope="module")
def runs(sandbox_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Every script run of this module, started together; each test waits for its own.

    Against the sandbox: a clean run, a refused key, and a body edited to duration 99. Against
    the stub: a run that meets a 503 and then succeeds, and a task that fails.
    """
    launched: dict[str, Launched] = {}
    with serve_stub() as stub, pytest.MonkeyPatch.context() as patch:
        # The canary sits in the environment while the code is generated: it must not leak in.
        for env in DEFAULT_KEY_ENV.values():
            patch.setenv(env, CANARY)

        def start(label: str, flavour: Flavour, script: str, key: str = CANARY, path: str | None = None) -> None:
            launched[label] = launch(tmp_path_factory.mktemp(label), flavour, script, key, path)

        def stub_base(case: str, name: str, fmt: WireFormat) -> str:
            # A path of its own per run keeps each run's requests and task ids apart.
            return f"{stub.root}/{case}-{name}/" + ("api/v1" if fmt == "dashscope" else "v1")

        for name in RUNNABLE:
            flavour = FLAVOURS[name]
            for fmt in FORMATS:
                script = flavour.make(BODIES[fmt], fmt, _api_base(sandbox_server, fmt))
                start(f"sandbox-{name}-{fmt}", flavour, script)
                start(f"refused-{name}-{fmt}", flavour, script, key="sk-invalid-0000")
                edited = script.replace('"duration": 2', '"duration": 99')
                assert edited != script
                start(f"edited-{name}-{fmt}", flavour, edited)
                for case in ("ok", "fail"):
                    script = flavour.make(BODIES[fmt], fmt, stub_base(case, name, fmt))
                    start(f"stub-{case}-{name}-{fmt}", flavour, script)
            for word in WORDS:
                base = stub_base(word, name, "gateway")
                start(f"word-{word}-{name}", flavour, flavour.make(BODIES["gateway"], "gateway", base))
        no_jq = bin_without_jq(tmp_path_factory.mktemp("bin") / "bin")
        bash = shutil.which("bash")
        assert bash is not None
        for case, fmt in NO_JQ_CASES:
            script = curl_script(BODIES[fmt], fmt, stub_base(case, "nojq", fmt))
            start(f"nojq-{case}", Flavour("curl", curl_script, ".sh", (bash,)), script, path=no_jq)
        try:
            yield Runs(stub, launched)
        finally:
            for run in launched.values():
                if run.process.poll() is None:
                    run.process.kill()
                    run.process.communicate()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", ["curl", "python", "node"])
def test_an_exported_script_creates_and_downloads_a_video(runs: Runs, name: str, fmt: WireFormat) -> None:
    """The script submits, polls to success and saves a real H.264 video of the asked size."""
    if name not in RUNNABLE:
        pytest.skip("Node 18 or later is not installed")
    run = runs[f"sandbox-{name}-{fmt}"]
    code, out, err = run.finish()
    assert code == 0, err
    assert "saved video.mp4" in out
    info = probe(run.folder / "video.mp4")
    assert (info.codec, info.width, info.height) == ("h264", *SIZES[fmt])
    assert CANARY not in run.script + out + err


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", RUNNABLE)
def test_a_refused_key_exits_non_zero_with_the_providers_message(runs: Runs, name: str, fmt: WireFormat) -> None:
    """The sandbox refuses keys starting sk-invalid: the script says so in the provider's words."""
    run = runs[f"refused-{name}-{fmt}"]
    code, _, err = run.finish()
    assert code != 0
    assert "HTTP 401" in err
    assert ("InvalidApiKey" if fmt == "dashscope" else "invalid_api_key") in err
    assert "Invalid API-key provided" in err
    assert not (run.folder / "video.mp4").exists()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", RUNNABLE)
def test_a_body_edited_out_of_range_gets_the_providers_fix(runs: Runs, name: str, fmt: WireFormat) -> None:
    """A developer edits duration to 99 after export: the script shows the API's path and fix."""
    code, _, err = runs[f"edited-{name}-{fmt}"].finish()
    assert code != 0
    path = "parameters.duration" if fmt == "dashscope" else "input.duration"
    assert f"{path}: 99 is above 15" in err
    assert "use 2-15" in err


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", RUNNABLE)
def test_a_script_rides_out_a_503_and_never_sends_the_key_to_the_video_link(
    runs: Runs, name: str, fmt: WireFormat
) -> None:
    """Status 503 means ask again; the escaped URL is read right; the download carries no key."""
    run = runs[f"stub-ok-{name}-{fmt}"]
    code, out, err = run.finish()
    assert code == 0, err
    assert "asking again" in err
    assert (run.folder / "video.mp4").read_bytes() == b"stub video bytes"
    task = f"ok-{name}-" + ("d" if fmt == "dashscope" else "g")
    downloads = [r for r in runs.stub.requests if r[1] == f"/files/{task}.mp4?Expires=1&Signature=a"]
    assert downloads, "the video URL was not read correctly"
    assert all("authorization" not in {k.lower() for k in headers} for _, _, headers, _ in downloads)
    api = "api/v1" if fmt == "dashscope" else "v1"
    creates = [r for r in runs.stub.requests if r[0] == "POST" and r[1].startswith(f"/ok-{name}/{api}/")]
    assert len(creates) == 1
    _, _, headers, body = creates[0]
    lowered = {k.lower(): v for k, v in headers.items()}
    assert lowered["authorization"] == f"Bearer {CANARY}"
    assert ("x-dashscope-async" in lowered) == (fmt == "dashscope")
    if name == "curl":
        assert body == wire_json(BODIES[fmt]).encode()  # the heredoc sends the preview byte for byte
    assert json.loads(body) == BODIES[fmt]
    assert CANARY not in out + err


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", RUNNABLE)
def test_a_failed_task_exits_non_zero_with_the_providers_code_and_message(
    runs: Runs, name: str, fmt: WireFormat
) -> None:
    """A task that ends failed stops the script with the provider's code and message."""
    run = runs[f"stub-fail-{name}-{fmt}"]
    code, _, err = run.finish()
    assert code != 0
    assert ("DataInspectionFailed" if fmt == "dashscope" else "content_policy") in err
    assert "Output data may contain inappropriate content." in err
    assert not (run.folder / "video.mp4").exists()


@pytest.mark.parametrize("word", WORDS)
@pytest.mark.parametrize("name", RUNNABLE)
def test_every_gateway_status_word_ends_the_script_at_once(runs: Runs, name: str, word: str) -> None:
    """success, failure and error end the script on the first status answer, not at its give-up."""
    run = runs[f"word-{word}-{name}"]
    code, _, err = run.finish(timeout=60)
    assert runs.stub.polls[f"{word}-{name}-g"] == 1, err  # one status check, then the end
    if word == "success":
        assert code == 0, err
        assert (run.folder / "video.mp4").read_bytes() == b"stub video bytes"
    else:
        assert code != 0
        assert f"ended {word}: content_policy: Output data may contain inappropriate content." in err
        assert not (run.folder / "video.mp4").exists()


def test_the_first_url_in_an_answer_is_not_taken_for_the_video(runs: Runs) -> None:
    """Every script reads result.url, whatever "url" comes earlier in the answer's text."""
    for name in RUNNABLE:
        runs[f"word-success-{name}"].finish(timeout=60)
    runs["nojq-success"].finish(timeout=60)
    assert not [r for r in runs.stub.requests if r[1].startswith("/files/decoy")]


@pytest.mark.parametrize(("case", "fmt"), NO_JQ_CASES)
def test_without_jq_the_curl_script_reads_answers_with_python3(runs: Runs, case: str, fmt: WireFormat) -> None:
    """The same readings through the python3 fallback: escapes, the decoy url, the error's code."""
    run = runs[f"nojq-{case}"]
    code, out, err = run.finish(timeout=60)
    if case == "error":
        assert code != 0
        assert "ended error: content_policy: Output data may contain inappropriate content." in err
        return
    assert code == 0, err
    assert "saved video.mp4" in out
    assert (run.folder / "video.mp4").read_bytes() == b"stub video bytes"
    if case == "ok":
        assert "asking again" in err


# -- the text itself -----------------------------------------------------------------------------


@pytest.mark.parametrize("make", [curl_script, python_script, javascript_script], ids=lambda f: f.__name__)
def test_no_function_takes_a_key_and_no_key_reaches_the_text(make: MakeScript, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the variable's name is written, whatever the environment holds."""
    assert [p for p in inspect.signature(make).parameters if "key" in p] == ["key_env"]
    for env in DEFAULT_KEY_ENV.values():
        monkeypatch.setenv(env, CANARY)
    for fmt in FORMATS:
        text = make(BODIES[fmt], fmt, "https://example.com/api/v1")
        assert CANARY not in text
        assert DEFAULT_KEY_ENV[fmt] in text
        custom = make(BODIES[fmt], fmt, "https://example.com/api/v1", key_env="MY_KEY", out="out/clip.mp4")
        assert "MY_KEY" in custom and DEFAULT_KEY_ENV[fmt] not in custom and "out/clip.mp4" in custom


@pytest.mark.parametrize("make", [curl_script, python_script, javascript_script], ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("base", "key_env"), [("ftp://example.com", None), ("https://example.com", "MY KEY"), ("https://e.com", "$(id)")]
)
def test_bad_arguments_are_refused(make: MakeScript, base: str, key_env: str | None) -> None:
    """A base URL that is not http(s), or a key variable that is not a name, never makes code."""
    with pytest.raises(ValueError):
        make(BODIES["gateway"], "gateway", base, key_env=key_env)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("make", [curl_script, python_script, javascript_script], ids=lambda f: f.__name__)
def test_the_scripts_know_every_status_word_and_path_of_the_contract(make: MakeScript, fmt: WireFormat) -> None:
    """The word lists and paths come from the contract: none is left for a script to poll on."""
    text = make(BODIES[fmt], fmt, "https://example.com/v1")
    for word in (*contract.success_words(fmt), *contract.failure_words(fmt)):
        assert re.search(rf"\b{word}\b", text), word
    endpoints = contract.ENDPOINTS[fmt]
    assert endpoints.create in text and endpoints.task_prefix() in text
    assert json.dumps(list(contract.ANSWER_FIELDS[fmt].video_url[0]), separators=(",", ":")) in text


def test_the_bodies_here_are_valid_requests() -> None:
    """The bodies the scripts send pass the playground's own check (so the sandbox runs them)."""
    profile = load_profile()
    assert all(parse(BODIES[fmt], profile, fmt).ok for fmt in FORMATS)


def test_wire_json_is_the_preview_text() -> None:
    assert wire_json(BODIES["gateway"]) == json.dumps(BODIES["gateway"], indent=2, ensure_ascii=False)


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_curl_script_passes_bash_syntax_check(fmt: WireFormat, tmp_path: Path) -> None:
    path = tmp_path / "s.sh"
    path.write_text(curl_script(BODIES[fmt], fmt, "https://example.com/v1"), "utf-8")
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@pytest.mark.parametrize("fmt", FORMATS)
def test_the_javascript_passes_node_check(fmt: WireFormat, tmp_path: Path) -> None:
    for suffix in (".js", ".mjs"):  # a plain script and an ES module alike
        path = tmp_path / f"s{suffix}"
        path.write_text(javascript_script(BODIES[fmt], fmt, "https://example.com/v1"), "utf-8")
        checked = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


def _assigned(source: str, name: str) -> Any:
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not assigned")


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=4))
def test_any_body_comes_through_every_script_unchanged(body: dict[str, Any]) -> None:
    """Python gets an equal literal, bash a heredoc with the exact text, JS valid JSON."""
    assert _assigned(python_script(body, "gateway", "https://e.com/v1"), "REQUEST_BODY") == body
    text = wire_json(body)
    script = curl_script(body, "gateway", "https://e.com/v1")
    tag = re.search(r"<<'(\w+)'", script)
    assert tag is not None
    start = script.index("\n", tag.end()) + 1
    assert script[start:].startswith(text + "\n" + tag.group(1) + "\n")
    js = javascript_script(body, "gateway", "https://e.com/v1")
    assert f"const requestBody = {text};" in js
