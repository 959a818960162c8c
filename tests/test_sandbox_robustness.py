"""Bad input to every route gets a documented 4xx body; the playground's verdicts are the sandbox's."""

from __future__ import annotations

import json
import random
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from playground.core.profile import load_profile
from playground.core.wire import WireFormat, parse, path_of
from tests.fixtures_sandbox import auth, dashscope_headers, png_bytes

PNG = png_bytes()  # the store takes only real media (checked by content)

PROFILE = load_profile()
CREATE = {
    "dashscope": "/api/v1/services/aigc/video-generation/video-synthesis",
    "gateway": "/v1/videos/generations",
}
GARBAGE: list[bytes] = [
    b"",
    b"{not json",
    b"\xff\xfe\x00garbage",
    b"[]",
    b"null",
    b'"a string"',
    b"1e999",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"model": "wan2.7-t2v", "input": {"prompt": "x"}, "parameters": {"duration": NaN}}',
]
INVALID: dict[WireFormat, list[dict[str, Any]]] = {
    "dashscope": [
        {"input": {"prompt": "x"}},
        {"model": "wan2.7-t2v"},
        {"model": "wan2.7-t2v", "input": "x"},
        {"model": "wan-2-7-video", "input": {"prompt": "x"}},
        {"model": "wan2.7-t2v", "input": {"prompt": "x"}, "parameters": {"duration": "5"}},
        {"model": "wan2.7-t2v", "input": {"prompt": "x"}, "parameters": {"duration": 5.5, "seed": -1}},
        {"model": "wan2.7-t2v", "input": {"prompt": 123}, "parameters": {"resolution": "720p"}},
        {"model": "wan2.7-i2v", "input": {"media": [{"type": "first_frame", "url": "/etc/passwd"}]}},
        {"model": "wan2.7-i2v", "input": {"media": "https://e.com/a.png"}},
        {"model": "wan2.7-r2v", "input": {"prompt": "x", "media": []}, "parameters": {"ratio": "2:1"}},
        {"model": "wan2.7-videoedit", "input": {"media": [{"type": "video", "url": "oss://b/k"}]}},
        {"model": "wan2.7-t2v", "input": {"prompt": "x"}, "parameters": [], "extra": 1},
    ],
    "gateway": [
        {"model": "gemini_omni", "mode": "text-to-video", "input": {"prompt": "x"}},
        {"model": "wan-2-7-video", "mode": "text-2-video", "input": {"prompt": "x"}},
        {"model": "wan-2-7-video", "mode": "text-to-video"},
        {"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "x", "duration": True}},
        {"model": "wan-2-7-video", "mode": "image-to-video", "input": {"aspect_ratio": "16:9", "media": []}},
        {"model": "wan-2-7-video", "mode": "video-edit", "input": {"media": [{"type": "video", "url": 5}]}},
        {"model": "wan-2-7-video", "mode": "reference-to-video", "input": {"prompt": "x", "media": [
            {"type": "reference_video", "url": "https://e.com/v.mp4"}], "duration": 12}},
        {"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "x", "seed": 2**40}},
    ],
}


def assert_documented(answer: httpx.Response, surface: str, status: int | None = None) -> dict[str, Any]:
    """A JSON error body in the surface's documented shape, with a request id."""
    if status is not None:
        assert answer.status_code == status, answer.text
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-request-id"]
    body: dict[str, Any] = answer.json()
    if surface == "dashscope":
        assert set(body) == {"request_id", "code", "message"}
        assert body["request_id"] == answer.headers["x-request-id"]
        assert body["code"] and body["message"]
    else:
        assert set(body) == {"error"}
        assert set(body["error"]) == {"type", "code", "message", "param"}
        assert body["error"]["type"] in ("invalid_request_error", "authentication_error", "rate_limit_exceeded")
    return body


def headers_for(surface: str) -> dict[str, str]:
    return {**(dashscope_headers() if surface == "dashscope" else auth()), "Content-Type": "application/json"}


@pytest.mark.parametrize("surface", ["dashscope", "gateway"])
@pytest.mark.parametrize("raw", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_bodies_are_400(client: httpx.Client, sandbox_base: str, surface: str, raw: bytes) -> None:
    answer = client.post(sandbox_base + CREATE[surface], content=raw, headers=headers_for(surface))
    assert_documented(answer, surface, 400)


@pytest.mark.parametrize("fmt", ["dashscope", "gateway"])
def test_the_sandbox_refuses_what_the_playground_refuses_with_the_same_field_and_reason(
    client: httpx.Client, sandbox_base: str, fmt: WireFormat
) -> None:
    for body in INVALID[fmt]:
        verdict = parse(body, PROFILE, fmt)
        assert not verdict.ok, body
        errors = [p for p in verdict.all_problems() if p.severity == "error"]
        answer = client.post(sandbox_base + CREATE[fmt], json=body, headers=headers_for(fmt))
        refused = assert_documented(answer, fmt, 400)
        message = refused["message"] if fmt == "dashscope" else refused["error"]["message"]
        for problem in errors:
            assert problem.line(path_of(fmt, problem.loc)) in message, (body, message)
        if fmt == "gateway":
            assert refused["error"]["param"] == path_of(fmt, errors[0].loc)


def test_dashscope_codes_for_missing_parts(client: httpx.Client, sandbox_base: str) -> None:
    url = sandbox_base + CREATE["dashscope"]
    no_model = client.post(url, json={"input": {}}, headers=headers_for("dashscope"))
    assert assert_documented(no_model, "dashscope", 400)["code"] == "BadRequest.EmptyModel"
    no_input = client.post(url, json={"model": "wan2.7-t2v"}, headers=headers_for("dashscope"))
    assert assert_documented(no_input, "dashscope", 400)["code"] == "BadRequest.EmptyInput"
    sync = client.post(url, json={"model": "wan2.7-t2v", "input": {"prompt": "x"}}, headers=auth())
    body = assert_documented(sync, "dashscope", 403)
    assert body["code"] == "AccessDenied"
    assert "current user api does not support synchronous calls" in body["message"]


def test_sdk_extras_and_legacy_fields_are_tolerated(client: httpx.Client, sandbox_base: str) -> None:
    """What the official SDK adds is accepted; 2.6-era fields are ignored, as Wan 2.7 does."""
    body = {"model": "wan2.7-t2v-2026-06-12", "parameters": {"resolution": "720P", "duration": 2, "size": "1280*720",
                                                             "shot_type": "multi"},
            "input": {"prompt": "x", "extend_prompt": True, "function": "video-synthesis", "negative_prompt": None}}
    answer = client.post(sandbox_base + CREATE["dashscope"], json=body, headers=headers_for("dashscope"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["output"]["task_status"] == "PENDING"


@pytest.mark.parametrize("surface", ["dashscope", "gateway"])
def test_huge_bodies_are_413_declared_or_streamed(client: httpx.Client, start_sandbox: Any, surface: str) -> None:
    base = start_sandbox(max_json_bytes=50_000) + "/sandbox"
    declared = client.post(base + CREATE[surface], content=b" " * 60_000, headers=headers_for(surface))
    body = assert_documented(declared, surface, 413)
    assert (body["code"] if surface == "dashscope" else body["error"]["code"]) in (
        "BadRequest.TooLarge", "request_too_large"
    )

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 10_000

    streamed = client.post(base + CREATE[surface], content=chunks(), headers=headers_for(surface))
    assert "content-length" not in streamed.request.headers
    assert_documented(streamed, surface, 413)


def test_uploads_over_the_limit_are_413(client: httpx.Client, start_sandbox: Any) -> None:
    base = start_sandbox(max_upload_bytes=100_000) + "/sandbox"
    answer = client.post(f"{base}/v1/files", files={"file": ("big.png", PNG + b"x" * 200_000)}, headers=auth())
    assert_documented(answer, "gateway", 413)
    small = client.post(f"{base}/v1/files", files={"file": ("ok.png", PNG + b"x" * 50_000)}, headers=auth())
    assert small.status_code == 200


@pytest.mark.parametrize("name", ["../../evil.png", "a/b.png", "/etc/passwd", "..", "", "...", "dir/"])
def test_upload_names_with_path_tricks_are_refused(client: httpx.Client, sandbox_base: str, name: str) -> None:
    answer = client.post(f"{sandbox_base}/v1/files", files={"file": (name, PNG)}, headers=auth())
    body = assert_documented(answer, "gateway", 400)
    assert body["error"]["param"] == "file"


@pytest.mark.parametrize(("name", "stored"), [("my photo (1).PNG", "my_photo_1.png"), ("C:\\x\\y.png", "y.png"),
                                              ("файл.jpg", "file.jpg"), ("a..b.png", "a..b.png")])
def test_odd_but_harmless_names_are_cleaned(client: httpx.Client, sandbox_base: str, name: str, stored: str) -> None:
    """Windows paths arrive as their last part (the multipart parser drops the rest); odd characters go."""
    answer = client.post(f"{sandbox_base}/v1/files", files={"file": (name, PNG)}, headers=auth())
    assert answer.status_code == 200, answer.text
    assert answer.json()["filename"] == stored
    assert client.get(answer.json()["url"]).content == PNG


def test_uploads_need_a_file_field(client: httpx.Client, sandbox_base: str) -> None:
    for kwargs in ({"files": {"other": ("a.png", b"x")}}, {"data": {"file": "not a file"}}, {"content": b"raw"}):
        answer = client.post(f"{sandbox_base}/v1/files", headers=auth(), **kwargs)
        assert_documented(answer, "gateway", 400)


def raw_get(base: str, path: str) -> tuple[int, bytes]:
    """A GET with the path exactly as given: no client normalises the dots away."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize(
    "path",
    [
        "/sandbox/files/uploads/../../../etc/passwd",
        "/sandbox/files/uploads/..%2F..%2Fetc/passwd",
        "/sandbox/files/uploads/%2e%2e/%2e%2e",
        "/sandbox/files/results/x/..%5c..%5cwin.ini",
        "/sandbox/files/uploads//etc/passwd",
        "/sandbox/files/../sandbox/files/uploads/a/b",
        "/sandbox/files/secrets/a/b.txt",
    ],
)
def test_path_tricks_in_file_urls_find_nothing(sandbox_server: str, path: str) -> None:
    status, body = raw_get(sandbox_server, path)
    assert status in (400, 404), (status, body)
    if body:
        assert "error" in json.loads(body)


@pytest.mark.parametrize("task_id", ["..", "a%2Fb", "x" * 500, "abc$def", "%00", "é"])
def test_odd_task_ids_get_documented_answers(client: httpx.Client, sandbox_base: str, task_id: str) -> None:
    for surface, path in (("dashscope", f"/api/v1/tasks/{task_id}"), ("gateway", f"/v1/videos/generations/{task_id}"),
                          ("dashscope", f"/api/v1/tasks/{task_id}/cancel")):
        method = "POST" if path.endswith("/cancel") else "GET"
        answer = client.request(method, sandbox_base + path, headers=auth())
        if answer.status_code == 200:  # DashScope reads well-formed unknown ids as UNKNOWN
            assert answer.json()["output"]["task_status"] == "UNKNOWN"
        else:
            assert_documented(answer, surface)


def test_unknown_ids_follow_each_contract(client: httpx.Client, sandbox_base: str) -> None:
    unknown = client.get(f"{sandbox_base}/api/v1/tasks/0385dc79-5ff8-4d82-bcb6-abcdef", headers=auth())
    assert unknown.status_code == 200
    assert unknown.json()["output"] == {"task_id": "0385dc79-5ff8-4d82-bcb6-abcdef", "task_status": "UNKNOWN"}
    cancel = client.post(f"{sandbox_base}/api/v1/tasks/0385dc79/cancel", headers=auth())
    assert assert_documented(cancel, "dashscope", 400)["code"] == "UnsupportedOperation"
    missing = client.get(f"{sandbox_base}/v1/videos/generations/task_X", headers=auth())
    assert assert_documented(missing, "gateway", 404)["error"]["code"] == "task_not_found"


@pytest.mark.parametrize(
    ("method", "path", "surface", "status"),
    [
        ("GET", "/api/v1/nothing", "dashscope", 404),
        ("GET", "/api/v1/services/aigc/video-generation/video-synthesis", "dashscope", 405),
        ("DELETE", "/api/v1/tasks/abc", "dashscope", 405),
        ("GET", "/v1/chat/completions", "gateway", 404),
        ("PUT", "/v1/videos/generations", "gateway", 405),
        ("GET", "/v1/files", "gateway", 405),
        ("GET", "/elsewhere", "gateway", 404),
    ],
)
def test_unknown_routes_and_methods(client: httpx.Client, sandbox_base: str, method: str, path: str, surface: str,
                                    status: int) -> None:
    assert_documented(client.request(method, sandbox_base + path, headers=auth()), surface, status)


def test_list_and_upload_policy_check_their_arguments(client: httpx.Client, sandbox_base: str) -> None:
    for query in ("page_no=0", "page_size=1000", "page_no=abc", "page_no=²", "page_size=" + "9" * 5000):
        answer = client.get(f"{sandbox_base}/api/v1/tasks?{query}", headers=auth())
        assert_documented(answer, "dashscope", 400)
    listed = client.get(f"{sandbox_base}/api/v1/tasks?page_size=2", headers=auth())
    assert listed.status_code == 200 and listed.json()["page_size"] == 2
    for query in ("", "action=other&model=m", "action=getPolicy"):
        assert_documented(client.get(f"{sandbox_base}/api/v1/uploads?{query}", headers=auth()), "dashscope", 400)


def test_the_upload_bucket_checks_its_forms(client: httpx.Client, sandbox_base: str) -> None:
    """Forms without a valid policy are refused with OSS's XML errors, never stored."""
    answer = client.get(f"{sandbox_base}/api/v1/uploads?action=getPolicy&model=wan2.7-i2v", headers=auth())
    policy = answer.json()["data"]
    good = {"OSSAccessKeyId": policy["oss_access_key_id"], "policy": policy["policy"], "Signature": policy["signature"],
            "key": policy["upload_dir"] + "/a.png", "x-oss-forbid-overwrite": "true", "success_action_status": "200"}
    cases = [
        ({k: v for k, v in good.items() if k != "policy"}, 400, "InvalidArgument"),
        (good | {"Signature": "forged"}, 403, "SignatureDoesNotMatch"),
        (good | {"OSSAccessKeyId": "nope"}, 403, "InvalidAccessKeyId"),
        (good | {"key": "dashscope-instant/other/2020-01-01/oss_x/a.png"}, 403, "AccessDenied"),
        (good | {"key": policy["upload_dir"] + "/../../x.png"}, 403, "AccessDenied"),
    ]
    for fields, status, code in cases:
        answer = client.post(policy["upload_host"], data=fields, files={"file": ("a.png", PNG)})
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith("application/xml")
        assert f"<Code>{code}</Code>" in answer.text
    assert client.post(policy["upload_host"], data=good, files={"file": ("a.png", PNG)}).status_code == 200
    again = client.post(policy["upload_host"], data=good, files={"file": ("a.png", PNG)})
    assert (again.status_code, "<Code>FileAlreadyExists</Code>" in again.text) == (409, True)


def test_random_junk_never_gets_a_500(client: httpx.Client, sandbox_base: str) -> None:
    """A small seeded fuzz over every route: whatever arrives, the answer is a documented 4xx or a 200."""
    rng = random.Random(1234)
    routes = [("POST", CREATE["dashscope"]), ("POST", CREATE["gateway"]), ("GET", "/api/v1/tasks/x"),
              ("POST", "/api/v1/tasks/x/cancel"), ("GET", "/v1/videos/generations/x"), ("POST", "/v1/files"),
              ("POST", "/oss"), ("GET", "/api/v1/uploads"), ("GET", "/api/v1/tasks"), ("GET", "/files/uploads/a/b")]
    values: list[Any] = [None, True, 0, -1, 2**70, 1.5, "", "x" * 3000, [], {}, [1, "a"], {"a": {"b": []}},
                         "data:image/png;base64,!!!", "oss://x", "file:///etc/passwd", "http://127.0.0.1:1/a.png"]
    keys = ["model", "mode", "input", "parameters", "prompt", "media", "duration", "url", "type", "seed"]

    def junk(depth: int = 0) -> Any:
        if depth > 2 or rng.random() < 0.3:
            return rng.choice(values)
        return {rng.choice(keys): junk(depth + 1) for _ in range(rng.randint(0, 4))}

    for _ in range(150):
        method, path = rng.choice(routes)
        headers = dashscope_headers() if rng.random() < 0.8 else {"Authorization": rng.choice(["", "Bearer", "x y"])}
        if rng.random() < 0.2:
            headers["X-DashScope-OssResourceResolve"] = "enable"
        answer = client.request(method, sandbox_base + path, content=json.dumps(junk()).encode(), headers=headers)
        assert answer.status_code < 500, (method, path, answer.text)
        if answer.status_code >= 400 and path != "/oss":
            assert answer.headers["content-type"] == "application/json", answer.text


def test_too_many_unfinished_tasks_are_throttled(client: httpx.Client, start_sandbox: Any) -> None:
    """Past max_active_tasks a submit is refused like a provider's concurrency limit, with Retry-After."""
    base = start_sandbox(max_active_tasks=2, delay_scale=1.0) + "/sandbox"
    body = {"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "wait", "resolution": "720P"}}
    answers = [client.post(f"{base}/v1/videos/generations", json=body, headers=auth()) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"]["type"] == "rate_limit_exceeded"
    assert answers[2].headers["retry-after"]
