"""Bad input to every sandbox route over real loopback HTTP: never a 5xx, always the documented error body.

Two generators feed it. Schemathesis reads the sandbox's own OpenAPI document
(``/sandbox/openapi.json``) and draws requests for all ten operations, ones that fit the
schema and ones that break it on purpose (its negative mode). Hand-written lists add what a
schema-driven generator does not reach: bytes that are not JSON, other text encodings,
unpaired surrogates, bodies over the limits, path tricks, odd headers, methods and forms, and
files that lie about what they are.

The rehearsal header (``X-Sandbox-Scenario``) is never sent: its ``server_error`` and
``wrong_endpoint`` scenarios answer 5xx on purpose. The barrages run against a private sandbox
whose tasks wait in the queue (a large delay scale), so the valid requests a generator also
makes create tasks that are never rendered; tasks created before a barrage must still be
there after it.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from playground.core import wire
from playground.media.samples import make_image, make_video
from tests.fixtures_sandbox import auth, dashscope_headers

# Distinct inputs sent, per generator; the module's last test reports and checks the total.
SENT: dict[str, set[str]] = {}
CREATE = {
    "dashscope": "/api/v1/services/aigc/video-generation/video-synthesis",
    "gateway": "/v1/videos/generations",
}
JSON_LIMIT = 256 * 1024
UPLOAD_LIMIT = 512 * 1024
# Tasks wait ~100x the realistic queue time: nothing generated here is ever rendered.
PARKED = {"delay_scale": 100.0, "max_json_bytes": JSON_LIMIT, "max_upload_bytes": UPLOAD_LIMIT}
SCHEMATHESIS_EXAMPLES = 400


def sent(family: str, *parts: object) -> None:
    SENT.setdefault(family, set()).add(repr(parts))


def surface_of(path: str) -> str:
    """Which documented error shape a path (inside the sandbox, or from the server root) answers in."""
    inner = path[len("/sandbox"):] if path.startswith("/sandbox/") else path
    if inner.startswith("/api/v1"):
        return "dashscope"
    if inner == "/oss" or inner.startswith("/oss/"):
        return "oss"
    return "gateway"


def content_type(answer: Any) -> str:
    """The Content-Type of an httpx response or of a schemathesis one (whose header values are lists)."""
    value = answer.headers.get("content-type") or answer.headers.get("Content-Type") or ""
    return str(value[0] if isinstance(value, list) else value)


def assert_refusal(answer: Any, path: str, status: int | None = None) -> dict[str, Any]:
    """A 4xx in the documented shape of the path's surface, with a message; returns the JSON body."""
    assert 400 <= answer.status_code < 500, (answer.status_code, path, answer.text[:500])
    if status is not None:
        assert answer.status_code == status, (path, answer.text[:500])
    if surface_of(path) == "oss":
        assert content_type(answer).startswith("application/xml"), answer.text[:300]
        assert re.search(r"<Code>[\w.]+</Code><Message>[^<]+</Message>", answer.text), answer.text[:300]
        return {}
    assert content_type(answer) == "application/json", (path, answer.text[:300])
    body: dict[str, Any] = json.loads(answer.content)
    if surface_of(path) == "dashscope":
        assert set(body) == {"request_id", "code", "message"}, body
        assert body["code"] and body["message"] and body["request_id"], body
    else:
        assert set(body) == {"error"} and set(body["error"]) == {"type", "code", "message", "param"}, body
        assert body["error"]["type"] and body["error"]["code"] and body["error"]["message"], body
    return body


def message_of(body: dict[str, Any]) -> str:
    message: str = body["error"]["message"] if "error" in body else body["message"]
    return message


def assert_answered(answer: Any, path: str) -> None:
    """Never a server error: a refusal is documented, anything else is a success."""
    if answer.status_code >= 400:
        assert_refusal(answer, path)
    else:
        assert answer.status_code in (200, 204, 206), (answer.status_code, path, answer.text[:300])


def headers_for(surface: str) -> dict[str, str]:
    base = dashscope_headers() if surface == "dashscope" else auth()
    return {**base, "Content-Type": "application/json"}


@pytest.fixture
def parked(start_sandbox: Callable[..., str]) -> Iterator[tuple[str, httpx.Client]]:
    """A private sandbox (its mount URL) whose tasks never leave the queue, and a client for it."""
    base = start_sandbox(**PARKED) + "/sandbox"
    with httpx.Client(timeout=30) as client:
        kept = witness(client, base)
        yield base, client
        assert_still_there(client, base, kept)


def witness(client: httpx.Client, base: str) -> tuple[str, str]:
    """One task on each surface, made before a barrage; their ids."""
    native = client.post(base + CREATE["dashscope"], headers=headers_for("dashscope"),
                         json={"model": "wan2.7-t2v", "input": {"prompt": "kept"}, "parameters": {"duration": 2}})
    unified = client.post(base + CREATE["gateway"], headers=headers_for("gateway"),
                          json={"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "kept"}})
    assert native.status_code == unified.status_code == 200, (native.text, unified.text)
    return native.json()["output"]["task_id"], unified.json()["task_id"]


def assert_still_there(client: httpx.Client, base: str, ids: tuple[str, str]) -> None:
    """The tasks made before the barrage are still known, and the sandbox still takes new ones."""
    native = client.get(f"{base}/api/v1/tasks/{ids[0]}", headers=auth()).json()
    assert native["output"]["task_status"] == "PENDING", native
    unified = client.get(f"{base}/v1/videos/generations/{ids[1]}", headers=auth())
    assert unified.status_code == 200 and unified.json()["status"] == "queued", unified.text
    witness(client, base)


# -- schemathesis over the OpenAPI document ---------------------------------------------------

_STRATEGIES: dict[str, dict[GenerationMode, Any]] = {}


def strategies(base: str) -> dict[GenerationMode, Any]:
    """Schemathesis's strategies for every operation of the sandbox at ``base``, built once per sandbox."""
    if base not in _STRATEGIES:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        _STRATEGIES[base] = {mode: schema.as_strategy(mode) for mode in (GenerationMode.NEGATIVE,
                                                                         GenerationMode.POSITIVE)}
    return _STRATEGIES[base]


@settings(max_examples=SCHEMATHESIS_EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@given(data=st.data())
def test_schemathesis_cases_for_every_operation(parked: tuple[str, httpx.Client], data: st.DataObject) -> None:
    """Cases that fit the OpenAPI schema and cases that break it, for all ten operations: no 5xx, documented bodies."""
    base, _ = parked
    by_mode = strategies(base)
    # Two negative cases for each positive one: breaking the schema is what this module is about.
    mode = data.draw(st.sampled_from([GenerationMode.NEGATIVE, GenerationMode.NEGATIVE, GenerationMode.POSITIVE]))
    case = data.draw(by_mode[mode])
    headers = dashscope_headers() if surface_of(case.path) == "dashscope" else auth()
    answer = case.call(base_url=base, headers=headers, timeout=30)
    sent(f"schemathesis ({mode.value})", case.method, case.formatted_path, case.query, case.body, case.headers)
    note(f"{case.method} {answer.request.url} -> {answer.status_code} {answer.text[:300]}")
    assert_answered(answer, case.path)


# -- bodies that are not a request ----------------------------------------------------------

GARBAGE: list[tuple[str, bytes]] = [
    ("utf-8 BOM", b'\xef\xbb\xbf{"model": "wan2.7-t2v", "input": {"prompt": "p"}} trailing'),
    ("utf-16", '{"model": "wan2.7-t2v"}'.encode("utf-16")),
    ("utf-32", '{"model": "wan2.7-t2v"}'.encode("utf-32")),
    ("latin-1 bytes", b'{"model": "wan2.7-t2v", "input": {"prompt": "caf\xe9"}}'),
    ("raw control character", b'{"model": "wan2.7-t2v", "input": {"prompt": "a\x01b"}}'),
    ("raw NUL", b'{"model": "wan2.7-t2v", "input": {"prompt": "a\x00b"}}'),
    ("NUL bytes", b"\x00" * 64),
    ("single quotes", b"{'model': 'wan2.7-t2v'}"),
    ("trailing comma", b'{"model": "wan2.7-t2v",}'),
    ("comment", b'{"model": "wan2.7-t2v" /* c */}'),
    ("truncated", b'{"model": "wan2.7-t2v", "input": {"prom'),
    ("two documents", b'{"a": 1}{"b": 2}'),
    ("5000-digit number", b'{"model": "wan2.7-t2v", "input": {"prompt": "p"}, "parameters": {"seed": '
     + b"9" * 5000 + b"}}"),
    ("NaN and Infinity", b'{"model": "wan2.7-t2v", "input": {"prompt": "p"}, '
     b'"parameters": {"duration": NaN, "seed": -Infinity}}'),
    ("deep objects", b'{"a":' * 5000 + b"1" + b"}" * 5000),
    ("form encoding", b"model=wan2.7-t2v&input=prompt"),
    ("a number", b"5"),
    ("true", b"true"),
    ("an empty object", b"{}"),
    ("whitespace", b" \t\r\n "),
]
# Well-formed JSON whose strings hold half of a UTF-16 surrogate pair: no UTF-8 encoder writes
# them, so the answer (and any stored record) must not quote them raw.
SURROGATES: list[tuple[str, bytes]] = [
    ("surrogate in a value", b'{"model": "wan2.7-t2v", "input": {"prompt": "a \\ud800 b"}}'),
    ("low surrogate in a value", b'{"model": "wan-2-7-video", "mode": "text-to-video", '
                                 b'"input": {"prompt": "\\udfff"}}'),
    ("surrogate in a key", b'{"model": "wan2.7-t2v", "input": {"prompt": "p", "\\ud800": 1}}'),
    ("surrogate in the model", b'{"model": "wan2.7-t2v\\ud800", "input": {"prompt": "p"}}'),
    ("surrogate in a media url", b'{"model": "wan-2-7-video", "mode": "image-to-video", "input": {"media": '
                                 b'[{"type": "first_frame", "url": "https://e.com/\\udc00.png"}]}}'),
    ("surrogate in a top-level key", b'{"model": "wan-2-7-video", "mode": "text-to-video", "\\udbff": 1, '
                                     b'"input": {"prompt": "p"}}'),
]


@pytest.mark.parametrize("surface", ["dashscope", "gateway"])
def test_bodies_that_are_not_a_request(parked: tuple[str, httpx.Client], surface: str) -> None:
    """Every one is a 400 in the surface's shape; the ones that are JSON name the field at fault."""
    base, client = parked
    for label, raw in [*GARBAGE, *SURROGATES]:
        answer = client.post(base + CREATE[surface], content=raw, headers=headers_for(surface))
        sent("hand-written bodies", surface, label)
        body = assert_refusal(answer, "/sandbox" + CREATE[surface], 400)
        message = message_of(body)
        assert "Traceback" not in message and len(message) < 5000, message[:300]
        if "surrogate" in label:
            assert re.search(r"^[\w.\[\]\\]+: .*surrogate", message), message
            assert "\\u" in message  # quoted escaped, never raw


def valid_anyway(key: str, value: Any) -> bool:
    """Values from the list below that happen to be right for a field (any text is a prompt; 123 is a seed)."""
    if key in ("prompt", "negative_prompt"):
        return isinstance(value, str)  # a long one is only warned about
    return (key == "seed" and type(value) is int) or (key == "watermark" and type(value) is bool)


@pytest.mark.parametrize("surface", ["dashscope", "gateway"])
def test_wrong_types_and_huge_strings_name_the_field(parked: tuple[str, httpx.Client], surface: str) -> None:
    """Each field given the wrong type, a huge string or control characters: refused, and the field is named."""
    base, client = parked
    huge = "x" * 200_000
    bad_values: list[Any] = [123, 1.5, True, [], {}, ["a"], {"a": 1}, huge, "\x00\x07\x1b[31m", "\u202eevil"]
    names = ["prompt", "negative_prompt", "duration", "resolution", "aspect_ratio", "seed", "watermark", "audio_url"]
    if surface == "dashscope":
        places = {(wire.DASHSCOPE_PLACES[n][0], wire.DASHSCOPE_PLACES[n][1]): ".".join(wire.DASHSCOPE_PLACES[n])
                  for n in names}
        base_body: dict[str, Any] = {"model": "wan2.7-t2v", "input": {"prompt": "p"}, "parameters": {}}
    else:
        places = {("input", name): f"input.{name}" for name in names}
        base_body = {"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "p"}}
    for (container, key), path in places.items():
        for value in bad_values:
            if valid_anyway(key, value):
                continue
            body = json.loads(json.dumps(base_body))
            body[container][key] = value
            answer = client.post(base + CREATE[surface], json=body, headers=headers_for(surface))
            sent("hand-written fields", surface, path, repr(value)[:80])
            refused = assert_refusal(answer, "/sandbox" + CREATE[surface], 400)
            assert path in message_of(refused), (path, value, message_of(refused)[:300])
            if surface == "gateway":
                assert refused["error"]["param"] == path, refused
            assert len(message_of(refused)) < 2000  # a huge value is never echoed back whole


def test_bodies_over_the_limit_are_413(parked: tuple[str, httpx.Client]) -> None:
    """Declared and streamed bodies past the JSON and upload limits: 413 in each surface's shape."""
    base, client = parked
    over = b'{"model": "wan2.7-t2v", "input": {"prompt": "' + b"x" * (JSON_LIMIT + 10) + b'"}}'

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(over), 65536):
            yield over[start:start + 65536]

    for surface, path in CREATE.items():
        declared = client.post(base + path, content=over, headers=headers_for(surface))
        streamed = client.post(base + path, content=chunks(), headers=headers_for(surface))
        sent("hand-written limits", surface, "declared")
        sent("hand-written limits", surface, "streamed")
        for answer in (declared, streamed):
            assert_refusal(answer, "/sandbox" + path, 413)
    upload = client.post(base + "/v1/files", files={"file": ("big.png", b"\x89PNG" + b"\0" * UPLOAD_LIMIT * 2)},
                         headers=auth())
    sent("hand-written limits", "upload over the limit")
    assert_refusal(upload, "/sandbox/v1/files", 413)


def test_odd_forms_on_the_upload_routes(parked: tuple[str, httpx.Client]) -> None:
    """Multipart bodies that are broken, empty, doubled or misnamed: documented 4xx, never a 500."""
    base, client = parked
    multipart = {"Content-Type": "multipart/form-data; boundary=zz"}
    forms: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        ("no file field", {"data": {"file": "just text"}}, {}),
        ("two files", {"files": [("file", ("a.png", b"1")), ("file", ("b.png", b"2"))]}, {}),
        ("other field name", {"files": {"upload": ("a.png", b"1")}}, {}),
        ("bad boundary", {"content": b"--zz\r\ngarbage"}, multipart),
        ("no boundary", {"content": b"garbage"}, {"Content-Type": "multipart/form-data"}),
        ("json instead", {"json": {"file": "a.png"}}, {}),
        ("dot-dot name", {"files": {"file": ("../../etc/passwd", b"1")}}, {}),
        ("slash name", {"files": {"file": ("/abs/olute.png", b"1")}}, {}),
        ("backslash name", {"files": {"file": ("..\\..\\win.ini", b"1")}}, {}),
        ("dot name", {"files": {"file": ("..", b"1")}}, {}),
        ("eleven fields", {"data": {f"f{i}": "x" for i in range(11)}, "files": {"file": ("a.png", b"1")}}, {}),
    ]
    for route in ("/v1/files", "/oss"):
        for label, form, extra in forms:
            answer = client.post(base + route, headers={**auth(), **extra}, **form)
            sent("hand-written forms", route, label)
            assert_refusal(answer, "/sandbox" + route)


def raw_request(base_url: str, method: str, target: str, headers: str = "",
                body: bytes = b"") -> tuple[int, str, bytes]:
    """One request sent byte for byte (no client normalises the path or vets the headers).

    Returns the status, the content type and the body.
    """
    parts = urlsplit(base_url)
    head = f"{method} {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n{headers}"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    answer_head, _, answer = data.partition(b"\r\n\r\n")
    status = int(answer_head.split()[1])
    kind = next((line.split(b":", 1)[1].strip().decode() for line in answer_head.split(b"\r\n")
                 if line.lower().startswith(b"content-type:")), "")
    return status, kind, answer


def assert_raw_refusal(status: int, kind: str, body: bytes, target: str) -> None:
    assert 400 <= status < 500, (target, status, body[:300])
    assert kind == "application/json", (target, kind, body[:200])
    shape = json.loads(body)
    wanted = {"request_id", "code", "message"} if surface_of(target) == "dashscope" else {"error"}
    assert set(shape) == wanted, (target, shape)


PATH_TRICKS = [
    "/sandbox/api/v1/tasks/..%2F..%2Fv1%2Ffiles",
    "/sandbox/api/v1/tasks/%2e%2e/%2e%2e/v1/files",
    "/sandbox/api/v1/tasks/a%00b",
    "/sandbox/api/v1/tasks/%ED%A0%80",
    "/sandbox/api/v1/tasks/" + "a" * 5000,
    "/sandbox/api/v1/tasks/%E2%80%AE",
    "/sandbox/api/v1/tasks/a;b=c",
    "/sandbox/api/v1/tasks/x/cancel/extra",
    "/sandbox/api/v1/tasks?page_no=%ED%A0%80",
    "/sandbox/api/v1/tasks?page_no=1&page_no=2&page_size=-0",
    "/sandbox/api/v1/tasks?status=%00&model_name=" + "m" * 3000,
    "/sandbox/api/v1/uploads?action=getPolicy&model=%00",
    "/sandbox/v1/videos/generations/..%5C..%5Cwin.ini",
    "/sandbox/v1/videos/generations/task_%F0%9F%92%A5",
    "/sandbox/v1/videos/generations/%",
    "/sandbox/v1/videos/generations//",
    "/sandbox/files/uploads/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/sandbox/files/results/x/y.mp4%00.png",
    "/sandbox/files/uploads/" + "f" * 300 + "/a.png",
    "/sandbox/files/UPLOADS/a/b.png",
    "/sandbox/openapi.json/..%2F..%2Fhealthz",
]


def test_path_tricks_and_odd_queries(parked: tuple[str, httpx.Client]) -> None:
    """Encoded dots, NULs, overlong segments, bad UTF-8 and doubled queries: a documented 4xx or an UNKNOWN task."""
    base, _ = parked
    root = base.removesuffix("/sandbox")
    for target in PATH_TRICKS:
        for method in ("GET", "POST"):
            status, kind, body = raw_request(root, method, target, "Authorization: Bearer sk-test\r\n"
                                             "X-DashScope-Async: enable\r\n")
            sent("hand-written paths", method, target)
            if status >= 400:
                assert_raw_refusal(status, kind, body, target)
            elif target.startswith("/sandbox/api/v1/tasks/"):
                assert json.loads(body)["output"]["task_status"] == "UNKNOWN", (target, body[:200])


HEADER_TRICKS: list[tuple[str, str]] = [
    ("no key", ""),
    ("empty bearer", "Authorization: Bearer \r\n"),
    ("basic auth", "Authorization: Basic dXNlcjpwYXNz\r\n"),
    ("bearer only", "Authorization: Bearer\r\n"),
    ("huge key", "Authorization: Bearer " + "k" * 7000 + "\r\n"),
    ("key with tabs", "Authorization: Bearer \tk\t\r\n"),
    ("key with control characters", "Authorization: Bearer k\x01\x7f\r\n"),
    ("latin-1 key", "Authorization: Bearer cl\xe9\r\n"),
    ("two keys", "Authorization: Bearer a\r\nAuthorization: Bearer sk-invalid-b\r\n"),
    ("invalid key", "Authorization: Bearer sk-invalid-1\r\n"),
    ("async off", "Authorization: Bearer sk-test\r\nX-DashScope-Async: disable\r\n"),
    ("async garbage", "Authorization: Bearer sk-test\r\nX-DashScope-Async: \x7f\xff\r\n"),
    ("oss resolve garbage", "Authorization: Bearer sk-test\r\nX-DashScope-Async: enable\r\n"
                            "X-DashScope-OssResourceResolve: maybe\r\n"),
    ("text content type", "Authorization: Bearer sk-test\r\nX-DashScope-Async: enable\r\nContent-Type: text/plain\r\n"),
    ("gzip that is not", "Authorization: Bearer sk-test\r\nX-DashScope-Async: enable\r\nContent-Encoding: gzip\r\n"),
]


def test_odd_headers(parked: tuple[str, httpx.Client]) -> None:
    """Missing, malformed, doubled and oversized headers on the create routes: documented refusals."""
    base, _ = parked
    root = base.removesuffix("/sandbox")
    body = b'{"model": "wan2.7-t2v", "input": {"prompt": 5}}'  # a wrong type, so nothing gets created
    for label, headers in HEADER_TRICKS:
        for path in CREATE.values():
            status, kind, answer = raw_request(root, "POST", "/sandbox" + path, headers, body)
            sent("hand-written headers", path, label)
            assert_raw_refusal(status, kind, answer, "/sandbox" + path)


def test_methods_nobody_documented(parked: tuple[str, httpx.Client]) -> None:
    """PUT, PATCH, DELETE and OPTIONS on every route: 404/405 in the route's shape."""
    base, client = parked
    routes = [*CREATE.values(), "/api/v1/tasks/x", "/api/v1/tasks/x/cancel", "/api/v1/tasks", "/api/v1/uploads",
              "/v1/videos/generations/x", "/v1/files", "/files/uploads/a/b.png"]
    for route in routes:
        for method in ("PUT", "PATCH", "DELETE", "OPTIONS"):
            answer = client.request(method, base + route, headers=dashscope_headers())
            sent("hand-written methods", method, route)
            assert_refusal(answer, "/sandbox" + route)
            assert answer.status_code in (404, 405), (method, route, answer.status_code)


@pytest.fixture(scope="module")
def liars(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, bytes]]:
    """Files that lie: text named .png, a 0-byte video, a 100x100 picture, a 40 s clip."""
    folder = tmp_path_factory.mktemp("liars")
    small = make_image(folder / "small.png", 100, 100)
    long = make_video(folder / "long.mp4", 320, 240, 40.0)
    return {
        # The store refuses what is plainly not media (test_security_sandbox); these pass its sniff.
        "text named .png": ("liar.png", b"\x89PNG\r\n\x1a\nthis is not a picture"),
        "0-byte video": ("empty.mp4", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"),
        "100x100 picture": ("small.png", small.read_bytes()),
        "40 s video": ("long.mp4", Path(long).read_bytes()),
    }


def test_files_that_lie_fail_their_task_naming_the_media(client: httpx.Client, sandbox_base: str,
                                                         liars: dict[str, tuple[str, bytes]]) -> None:
    """The store keeps what looks like media; the task that uses a lying file fails, naming its media item."""
    uses: dict[str, dict[str, Any]] = {
        "text named .png": {"model": "wan2.7-i2v", "input": {"media": [{"type": "first_frame", "url": ""}]},
                            "parameters": {"duration": 2}},
        "0-byte video": {"model": "wan2.7-videoedit",
                         "input": {"prompt": "x", "media": [{"type": "video", "url": ""}]}},
        "100x100 picture": {"model": "wan2.7-r2v", "input": {"prompt": "Image 1 waves",
                                                             "media": [{"type": "reference_image", "url": ""}]},
                            "parameters": {"duration": 2}},
        "40 s video": {"model": "wan2.7-videoedit", "input": {"prompt": "x", "media": [{"type": "video", "url": ""}]}},
    }
    started: dict[str, str] = {}
    for label, (name, data) in liars.items():
        stored = client.post(f"{sandbox_base}/v1/files", files={"file": (name, data)}, headers=auth())
        assert stored.status_code == 200, stored.text
        body = uses[label]
        body["input"]["media"][0]["url"] = stored.json()["url"]
        created = client.post(sandbox_base + CREATE["dashscope"], json=body, headers=dashscope_headers())
        assert created.status_code == 200, created.text
        started[label] = created.json()["output"]["task_id"]
        sent("files that lie", label)
    deadline = time.monotonic() + 60
    for label, task_id in started.items():
        while True:
            output = client.get(f"{sandbox_base}/api/v1/tasks/{task_id}", headers=auth()).json()["output"]
            if output["task_status"] not in ("PENDING", "RUNNING") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert output["task_status"] == "FAILED", (label, output)
        assert output["message"].startswith("input.media[0].url"), (label, output["message"])
        assert output["code"].startswith("InvalidParameter"), output


def test_the_count_of_bad_inputs() -> None:
    """The figure the README reports: distinct bad inputs sent to the sandbox, by generator."""
    if not SENT:
        pytest.skip("run the whole module: the count is gathered by the tests above")
    counts = {family: len(inputs) for family, inputs in sorted(SENT.items())}
    print("sandbox bad inputs:", counts, "total", sum(counts.values()))
    assert sum(n for f, n in counts.items() if f.startswith("schemathesis")) >= 150, counts
    assert sum(counts.values()) >= 400, counts
