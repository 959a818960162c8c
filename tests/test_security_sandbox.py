"""Attacks on the sandbox as a shared demo would see them, each over real loopback HTTP.

Every test here is written as the attack: it fails against a sandbox without the matching
defence. Stored XSS through the file store, an upload form overriding its signed policy, keys
the deployment never issued, the API docs' third-party scripts, one key starving the others,
a huge prompt kept and echoed for ever, and a request body that never finishes arriving.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from playground.core.profile import load_profile
from tests.fixtures_sandbox import auth, dashscope_headers, png_bytes, sandbox_config, wait_dashscope, wait_gateway

CREATE = {
    "dashscope": "/api/v1/services/aigc/video-generation/video-synthesis",
    "gateway": "/v1/videos/generations",
}
T2V_DASHSCOPE = {"model": "wan2.7-t2v", "input": {"prompt": "a quiet lake"},
                 "parameters": {"resolution": "720P", "duration": 2}}
T2V_GATEWAY = {"model": "wan-2-7-video", "mode": "text-to-video",
               "input": {"prompt": "a quiet lake", "resolution": "720P", "duration": 2}}
HTML = b"<!doctype html><html><body><script>fetch('/gradio_api/info').then(r => r.text())</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>'
PROFILE = load_profile()


def data_dir_of(tmp_path: Path) -> Path:
    """The store of the one private sandbox a test started (start_sandbox puts it under tmp_path)."""
    [found] = tmp_path.glob("sandbox-*/sandbox")
    return found


def gateway_error(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    error: dict[str, Any] = answer.json()["error"]
    assert set(error) == {"type", "code", "message", "param"}
    return error


def dashscope_error(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert set(body) == {"request_id", "code", "message"}
    return body


def oss_form(policy: dict[str, Any], name: str, **extra: str) -> dict[str, str]:
    return {"OSSAccessKeyId": policy["oss_access_key_id"], "policy": policy["policy"],
            "Signature": policy["signature"], "key": f"{policy['upload_dir']}/{name}",
            "success_action_status": "200", **extra}


def get_policy(client: httpx.Client, base: str, key: str = "sk-test-sandbox") -> dict[str, Any]:
    answer = client.get(f"{base}/api/v1/uploads", params={"action": "getPolicy", "model": "wan2.7-i2v"},
                        headers=auth(key))
    assert answer.status_code == 200, answer.text
    policy: dict[str, Any] = answer.json()["data"]
    return policy


def assert_served_safely(answer: httpx.Response, media_type: str, disposition: str) -> None:
    assert answer.headers["content-type"] == media_type
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["content-security-policy"] == "sandbox"
    assert answer.headers["content-disposition"].startswith(disposition + ";")


# -- 1. stored XSS through the file store --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "declared"),
    [
        ("page.html", HTML, "text/html"),
        ("drawing.svg", SVG, "image/svg+xml"),
        ("innocent.png", HTML, "image/png"),  # the name and the declared type lie
        ("innocent.jpg", SVG, "image/jpeg"),
        ("empty.mp4", b"", "video/mp4"),
        ("notes.wav", b"just some text, nothing to play", "audio/wav"),
    ],
)
def test_uploads_that_are_not_media_are_refused(client: httpx.Client, sandbox_base: str,
                                                name: str, content: bytes, declared: str) -> None:
    answer = client.post(f"{sandbox_base}/v1/files", files={"file": (name, content, declared)}, headers=auth())
    error = gateway_error(answer, 400)
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", "unsupported_file_type", "file")
    assert "JPEG" in error["message"] and "MP4" in error["message"] and "upload the picture" in error["message"]


def test_the_temporary_upload_bucket_checks_content_too(client: httpx.Client, sandbox_base: str) -> None:
    """The SDK's OSS flow must not be a way around the store's check."""
    policy = get_policy(client, sandbox_base)
    answer = client.post(policy["upload_host"], data=oss_form(policy, "a.png"),
                         files={"file": ("a.png", HTML, "image/png")})
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    assert "<Code>InvalidArgument</Code>" in answer.text and "file:" in answer.text
    folder_id = policy["upload_dir"].rsplit("/", 1)[1]
    assert client.get(f"{sandbox_base}/files/uploads/{folder_id}/a.png").status_code == 404


def test_files_are_served_with_the_type_found_in_their_content(client: httpx.Client, sandbox_base: str) -> None:
    """A real picture named .html is served as the picture it is, and no store answer can become a page."""
    picture = png_bytes()
    stored = client.post(f"{sandbox_base}/v1/files", files={"file": ("evil.html", picture, "text/html")},
                         headers=auth())
    assert stored.status_code == 200, stored.text
    assert stored.json()["content_type"] == "image/png"
    whole = client.get(stored.json()["url"])
    assert whole.content == picture
    assert_served_safely(whole, "image/png", "inline")
    part = client.get(stored.json()["url"], headers={"Range": "bytes=0-7"})
    assert (part.status_code, part.content) == (206, picture[:8])
    assert_served_safely(part, "image/png", "inline")
    assert_served_safely(client.head(stored.json()["url"]), "image/png", "inline")


def test_results_are_served_with_the_same_protections(client: httpx.Client, sandbox_base: str) -> None:
    created = client.post(sandbox_base + CREATE["dashscope"], json=T2V_DASHSCOPE, headers=dashscope_headers())
    done = wait_dashscope(client, sandbox_base, created.json()["output"]["task_id"])
    assert done["output"]["task_status"] == "SUCCEEDED", done
    assert_served_safely(client.get(done["output"]["video_url"]), "video/mp4", "inline")


def test_files_already_in_the_store_are_never_served_as_pages(client: httpx.Client, start_sandbox: Callable[..., str],
                                                              tmp_path: Path) -> None:
    """A file that reached the disk unchecked (stored by an older version) is a download, not a page,
    even when a type stored beside it claims otherwise."""
    base = start_sandbox() + "/sandbox"
    uploads = data_dir_of(tmp_path) / "uploads"
    for file_id, name in (("file_legacy", "page.html"), ("file_forged", "drawing.svg")):
        (uploads / file_id).mkdir()
        (uploads / file_id / name).write_bytes(HTML)
    (uploads / "file_forged" / ".drawing.svg.type").write_text("image/svg+xml")
    for route in ("file_legacy/page.html", "file_forged/drawing.svg"):
        answer = client.get(f"{base}/files/uploads/{route}")
        assert answer.status_code == 200
        assert_served_safely(answer, "application/octet-stream", "attachment")


# -- 2. the upload form cannot override its signed policy -----------------------------------------


def test_a_form_field_cannot_allow_what_the_policy_forbids(client: httpx.Client, sandbox_base: str) -> None:
    policy = get_policy(client, sandbox_base)
    first, second = png_bytes(seed=1), png_bytes(seed=2)
    lying = oss_form(policy, "frame.png", **{"x-oss-forbid-overwrite": "false"})
    assert client.post(policy["upload_host"], data=lying, files={"file": ("frame.png", first)}).status_code == 200
    again = client.post(policy["upload_host"], data=lying, files={"file": ("frame.png", second)})
    assert again.status_code == 409, again.text
    assert "<Code>FileAlreadyExists</Code>" in again.text
    folder_id = policy["upload_dir"].rsplit("/", 1)[1]
    kept = client.get(f"{sandbox_base}/files/uploads/{folder_id}/frame.png")
    assert kept.content == first
    assert_served_safely(kept, "image/png", "inline")  # the bucket's objects are served like any upload


# -- 3. keys the deployment issued, and no third-party scripts ------------------------------------


def test_only_accepted_keys_get_in(client: httpx.Client, start_sandbox: Callable[..., str]) -> None:
    base = start_sandbox(delay_scale=0.0, accept_key=lambda key: key == "sk-issued-1") + "/sandbox"
    picture = png_bytes()
    stranger = auth("sk-made-up")
    dashscope_refusals = [
        client.post(base + CREATE["dashscope"], json=T2V_DASHSCOPE, headers=dashscope_headers("sk-made-up")),
        client.get(f"{base}/api/v1/tasks/some-task", headers=stranger),
        client.get(f"{base}/api/v1/tasks", headers=stranger),
        client.get(f"{base}/api/v1/uploads?action=getPolicy&model=wan2.7-i2v", headers=stranger),
    ]
    for answer in dashscope_refusals:
        assert dashscope_error(answer, 401)["code"] == "InvalidApiKey"
    gateway_refusals = [
        client.post(base + CREATE["gateway"], json=T2V_GATEWAY, headers=stranger),
        client.get(f"{base}/v1/videos/generations/task_x", headers=stranger),
        client.post(f"{base}/v1/files", files={"file": ("p.png", picture)}, headers=stranger),
        client.post(f"{base}/v1/files", files={"file": ("p.png", picture)}),
    ]
    for answer in gateway_refusals:
        error = gateway_error(answer, 401)
        assert (error["type"], error["code"]) == ("authentication_error", "invalid_api_key")
    created = client.post(base + CREATE["gateway"], json=T2V_GATEWAY, headers=auth("sk-issued-1"))
    assert created.status_code == 200, created.text
    assert client.post(f"{base}/v1/files", files={"file": ("p.png", picture)},
                       headers=auth("sk-issued-1")).status_code == 200


def test_a_key_check_that_breaks_locks_callers_out(client: httpx.Client, start_sandbox: Callable[..., str]) -> None:
    def broken(key: str) -> bool:
        raise RuntimeError("the issuer's store is down")

    base = start_sandbox(accept_key=broken) + "/sandbox"
    answer = client.post(base + CREATE["gateway"], json=T2V_GATEWAY, headers=auth("sk-anything"))
    assert gateway_error(answer, 401)["code"] == "invalid_api_key"


def test_the_api_docs_can_be_switched_off(client: httpx.Client, start_sandbox: Callable[..., str],
                                          sandbox_base: str) -> None:
    """A sandbox mounted in the playground's origin must not serve Swagger's CDN scripts there."""
    assert client.get(f"{sandbox_base}/docs").status_code == 200  # standalone: on by default
    base = start_sandbox(docs=False) + "/sandbox"
    for path in ("/docs", "/openapi.json", "/docs/oauth2-redirect"):
        assert gateway_error(client.get(base + path), 404)["code"] == "not_found"


# -- 4a. one key cannot starve the others ----------------------------------------------------------


def test_one_key_flooding_neither_blocks_nor_delays_another(client: httpx.Client,
                                                            start_sandbox: Callable[..., str]) -> None:
    """Key A fills its quota and is throttled in each surface's shape; key B's task is created,
    starts ahead of A's backlog and finishes while A's tasks still wait."""
    base = start_sandbox(delay_scale=0.0, workers=1, max_tasks_per_key=4) + "/sandbox"
    flooder, other = dashscope_headers("sk-flooder"), dashscope_headers("sk-other")
    backlog: list[str] = []
    for _ in range(40):  # until refused: a render that ends meanwhile frees a place, so no fixed count
        refused = client.post(base + CREATE["dashscope"], json=T2V_DASHSCOPE, headers=flooder)
        if refused.status_code != 200:
            break
        backlog.append(refused.json()["output"]["task_id"])
    assert len(backlog) >= 4
    assert dashscope_error(refused, 429)["code"].startswith("Throttling")
    assert refused.json()["code"] != "Throttling.AllocationQuota"  # that one means "do not retry"
    assert int(refused.headers["retry-after"]) > 0
    refused = client.post(base + CREATE["gateway"], json=T2V_GATEWAY, headers=auth("sk-flooder"))
    error = gateway_error(refused, 429)
    assert (error["type"], error["code"]) == ("rate_limit_exceeded", "rate_limited")
    assert int(refused.headers["retry-after"]) > 0

    created = client.post(base + CREATE["dashscope"], json=T2V_DASHSCOPE, headers=other)
    assert created.status_code == 200, created.text
    task_id = created.json()["output"]["task_id"]
    first_look = client.get(f"{base}/api/v1/tasks/{task_id}", headers=other)
    if first_look.json()["output"]["task_status"] == "PENDING":
        assert first_look.headers["x-sandbox-queue-position"] == "0"  # next in line, not behind A's backlog
    done = wait_dashscope(client, base, task_id, "sk-other")
    assert done["output"]["task_status"] == "SUCCEEDED", done
    statuses = [wait_dashscope(client, base, t, "sk-flooder", timeout=0)["output"]["task_status"] for t in backlog]
    assert "PENDING" in statuses, statuses
    # A's quota counts unfinished tasks only: the one that ran before B's frees a place.
    assert statuses[0] == "SUCCEEDED", statuses
    assert client.post(base + CREATE["dashscope"], json=T2V_DASHSCOPE, headers=flooder).status_code == 200


async def test_slots_go_round_the_keys() -> None:
    """One slot; A queues three, then B one: B's runs second, not fourth, and a cancelled wait costs nothing."""
    from playground.sandbox.fair import FairSlots  # here, so the HTTP tests above run against any version

    slots = FairSlots(1)
    order: list[str] = []
    release = asyncio.Event()

    async def run(owner: str, seq: int) -> None:
        async with slots.slot(owner, seq):
            order.append(f"{owner}{seq}")
            await release.wait()

    tasks = [asyncio.create_task(run("a", seq)) for seq in range(3)]
    await asyncio.sleep(0)
    doomed = asyncio.create_task(run("c", 3))
    late = asyncio.create_task(run("b", 4))
    await asyncio.sleep(0)
    assert slots.order([("a", 1), ("a", 2), ("c", 3), ("b", 4)])[:2] == [3, 4]
    doomed.cancel()
    release.set()
    await asyncio.gather(*tasks, late, doomed, return_exceptions=True)
    assert order == ["a0", "b4", "a1", "a2"]


# -- 4b. prompts are kept at their documented length ----------------------------------------------


def test_a_huge_prompt_is_cut_to_the_documented_length(client: httpx.Client, start_sandbox: Callable[..., str],
                                                       tmp_path: Path) -> None:
    base = start_sandbox(delay_scale=0.0) + "/sandbox"
    prompt = "a very long story " * (10 * 1024 * 1024 // 18)
    negative = "blur " * 100_000
    body = {"model": "wan2.7-t2v", "input": {"prompt": prompt, "negative_prompt": negative},
            "parameters": {"resolution": "720P", "duration": 2}}
    assert len(json.dumps(body)) < sandbox_config(tmp_path).json_limit()  # within the body limit: it is accepted
    created = client.post(base + CREATE["dashscope"], json=body, headers=dashscope_headers())
    assert created.status_code == 200, created.text[:300]
    task_id = created.json()["output"]["task_id"]
    done = wait_dashscope(client, base, task_id)
    assert done["output"]["task_status"] == "SUCCEEDED", done
    assert done["output"]["orig_prompt"] == prompt[: PROFILE.prompt_max_chars]
    with sqlite3.connect(data_dir_of(tmp_path) / "tasks.sqlite3") as db:
        [(document,)] = db.execute("SELECT document FROM tasks WHERE task_id = ?", (task_id,)).fetchall()
    stored = json.loads(document)["request"]
    assert len(stored["prompt"]) == PROFILE.prompt_max_chars
    assert len(stored["negative_prompt"]) == PROFILE.negative_prompt_max_chars
    assert len(document) < 64 * 1024


# -- 4c. a body that stops arriving -------------------------------------------------------------------


def stalled_request(root: str, path: str, headers: dict[str, str], sent: bytes, declared: int,
                    wait_s: float = 15.0) -> tuple[int, dict[str, str], bytes, float]:
    """Send the head and part of a body, then nothing: the status, headers and body of the answer,
    and how long it took. Fails if no answer comes within wait_s."""
    parts = urlsplit(root)
    lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {declared}",
             *(f"{k}: {v}" for k, v in headers.items())]
    started = time.monotonic()
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=wait_s) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + sent)
        data = b""
        try:
            while chunk := sock.recv(65536):  # the server closes the connection after its answer
                data += chunk
        except TimeoutError:
            pytest.fail(f"no answer within {wait_s} s to a stalled body: {data[:200]!r}")
    elapsed = time.monotonic() - started
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    answer_headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), answer_headers, body, elapsed


@pytest.mark.parametrize(
    ("surface", "path", "content_type", "sent"),
    [
        ("gateway", "/sandbox" + CREATE["gateway"], "application/json", b'{"model": "wan-2-7-video", '),
        ("dashscope", "/sandbox" + CREATE["dashscope"], "application/json", b""),
        ("gateway", "/sandbox/v1/files", "multipart/form-data; boundary=xyz",
         b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n\x89PNG'),
    ],
)
def test_a_body_that_stalls_is_timed_out(start_sandbox: Callable[..., str], surface: str, path: str,
                                         content_type: str, sent: bytes) -> None:
    root = start_sandbox(body_read_timeout_s=0.5)
    headers = {**dashscope_headers("sk-slowloris"), "Content-Type": content_type}
    status, answer_headers, body, elapsed = stalled_request(root, path, headers, sent, declared=100_000)
    assert status == 408, body
    assert answer_headers["connection"] == "close"
    assert elapsed < 10
    document = json.loads(body)
    if surface == "gateway":
        assert (document["error"]["code"], document["error"]["type"]) == ("request_timeout", "invalid_request_error")
    else:
        assert document["code"] == "RequestTimeOut" and document["request_id"]


def test_a_stalled_upload_to_the_bucket_is_timed_out(client: httpx.Client, start_sandbox: Callable[..., str]) -> None:
    root = start_sandbox(body_read_timeout_s=0.5)
    policy = get_policy(client, root + "/sandbox")
    field = base64.b64encode(b"x").decode()
    sent = f'--xyz\r\nContent-Disposition: form-data; name="policy"\r\n\r\n{field}\r\n'.encode()
    status, _, body, _ = stalled_request(root, urlsplit(policy["upload_host"]).path,
                                         {"Content-Type": "multipart/form-data; boundary=xyz"}, sent, 100_000)
    assert status == 408, body
    assert b"<Code>RequestTimeout</Code>" in body


def test_gateway_tasks_of_an_accepted_key_still_finish(client: httpx.Client, start_sandbox: Callable[..., str]) -> None:
    """The defences leave the ordinary path alone: a restricted, docs-less, quota'd sandbox still renders."""
    base = start_sandbox(delay_scale=0.0, docs=False, max_tasks_per_key=1, body_read_timeout_s=5,
                         accept_key=lambda key: key == "sk-issued-2") + "/sandbox"
    created = client.post(base + CREATE["gateway"], json=T2V_GATEWAY, headers=auth("sk-issued-2"))
    assert created.status_code == 200, created.text
    done = wait_gateway(client, base, created.json()["task_id"], "sk-issued-2")
    assert done["status"] == "completed", done
