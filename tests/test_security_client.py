"""The client under attack: what a hostile browser can make a shared server send, read and show.

Each test is the attack itself, over real loopback HTTP: small listeners on free 127.0.0.1
ports play the provider and the "internal service" an attacker aims at, and record every
request that reaches them. A refused attack must leave the internal listener's log empty.

* Host policy: a base URL, a result URL or an upload host inside the server's own network
  (loopback, private, link-local, the cloud metadata address) is refused before anything is
  sent, unless the server's operator allowed that host; a base URL outside the allowed list is
  refused. The command line's default policy still reaches anything.
* Error texts: a server that is not the provider never gets its body quoted back to the caller;
  the provider's own error JSON still is (scrubbed of the key).
* Local files: with ``allow_local_files=False`` a server path is refused before it is read,
  with the same answer whether the path exists or not.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from playground.client.api import VideoClient
from playground.client.errors import HostRefused, LocalFileRefused, OutcomeUnknown, PlaygroundError
from playground.client.hosts import (
    PERMISSIVE,
    HostPolicy,
    Target,
    check_target,
    is_public_address,
    parse_hosts,
    server_policy,
)
from playground.client.ledger import Ledger
from playground.client.pinned_connect import PinnedBackend
from playground.client.providers import ProviderConfig, provider_from_settings
from playground.client.runner import RunOptions, provider_for, recover, run
from playground.media.samples import make_image
from playground.settings import Settings
from tests.fixtures_client import FAST, collect
from tests.fixtures_servers import socket_server

pytestmark = pytest.mark.usefixtures("no_backoff")

KEY = "sk-test-security-0123456789"
SECRET = "INTERNAL-ONLY-7f3a9c"  # what an internal service holds; must never reach the caller
Answer = tuple[int, str, bytes]  # status, content type, body


@dataclass
class Listener:
    """A tiny HTTP server on a free loopback port that answers as told and logs every request."""

    respond: Callable[[str, str], Answer]
    url: str = ""
    seen: list[tuple[str, str]] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def paths(self) -> list[str]:
        return [path for _, path in self.seen]


def _serve_one(conn: socket.socket, box: Listener) -> None:
    with conn:
        conn.settimeout(2.0)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        length = next((int(v) for k, _, v in (ln.partition(":") for ln in lines[1:])
                       if k.strip().lower() == "content-length"), 0)
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
        box.seen.append((method, path))
        status, kind, body = box.respond(method, path)
        conn.sendall(f"HTTP/1.1 {status} X\r\ncontent-type: {kind}\r\ncontent-length: {len(body)}\r\n"
                     "connection: close\r\n\r\n".encode() + body)


@contextlib.contextmanager
def listener(respond: Callable[[str, str], Answer]) -> Iterator[Listener]:
    box = Listener(respond)
    with socket_server(lambda conn: _serve_one(conn, box)) as url:
        box.url = url
        yield box


def internal_service(_method: str, _path: str) -> Answer:
    """What an attacker hopes to read: an admin page on the server's own network."""
    return 200, "text/html", f"<html><head><title>{SECRET}</title></head><body>{SECRET}</body></html>".encode()


def json_answer(data: object, status: int = 200) -> Answer:
    return status, "application/json", json.dumps(data).encode()


def succeeded(video_url: str) -> Callable[[str, str], Answer]:
    """A DashScope provider whose every task has succeeded, its video at ``video_url``."""
    def respond(_method: str, path: str) -> Answer:
        task_id = path.rsplit("/", 1)[-1]
        return json_answer({"request_id": "r-1", "output": {"task_id": task_id, "task_status": "SUCCEEDED",
                                                            "video_url": video_url}})
    return respond


def dashscope(base: str, hosts: HostPolicy = PERMISSIVE) -> ProviderConfig:
    return ProviderConfig(kind="dashscope", wire="dashscope", base_url=f"{base}/api/v1", api_key=SecretStr(KEY),
                          hosts=hosts)


def gateway(base: str, hosts: HostPolicy = PERMISSIVE) -> ProviderConfig:
    return ProviderConfig(kind="gateway", wire="gateway", base_url=f"{base}/v1", api_key=SecretStr(KEY), hosts=hosts)


NO_PRIVATE = HostPolicy(allowed_hosts=None, allow_private=False)


def only(*hosts: str) -> HostPolicy:
    return HostPolicy.strict(hosts)


# -- 1. host policy: base URLs ----------------------------------------------------------------


async def test_a_base_url_on_loopback_is_refused_and_nothing_is_sent() -> None:
    """The classic: a browser sets the base URL to the server's own loopback."""
    with listener(internal_service) as inside:
        async with VideoClient(gateway(inside.url, NO_PRIVATE)) as client:
            with pytest.raises(HostRefused) as caught:
                await client.status("t-1")
    assert inside.seen == []
    message = caught.value.message
    assert message.startswith(f"base_url: 127.0.0.1:{inside.port} ")
    assert "PLAYGROUND_ALLOWED_HOSTS" in message and "PLAYGROUND_ALLOW_PRIVATE_HOSTS" in message
    assert caught.value.field == "base_url" and caught.value.guidance.id == "host_refused"
    assert SECRET not in message


async def test_a_name_that_resolves_to_loopback_is_refused_too() -> None:
    """Not only literal addresses: 'localhost' resolves to loopback, so it is refused the same."""
    with listener(internal_service) as inside:
        async with VideoClient(gateway(f"http://localhost:{inside.port}", NO_PRIVATE)) as client:
            for call in (client.status("t-1"), client.submit({"model": "m"}), client.cancel("t-1")):
                with pytest.raises(HostRefused):
                    await call
    assert inside.seen == []


async def test_a_base_url_outside_the_allowed_hosts_is_refused() -> None:
    """With a list, only listed hosts may be a base URL, even with private addresses allowed."""
    policy = HostPolicy.strict(["dashscope-intl.aliyuncs.com"], allow_private=True)
    with listener(internal_service) as inside:
        async with VideoClient(dashscope(inside.url, policy)) as client:
            with pytest.raises(HostRefused, match=r"^base_url: 127\.0\.0\.1:\d+ is not one of this server's "
                                                  r"allowed hosts.*PLAYGROUND_ALLOWED_HOSTS"):
                await client.submit({"model": "m", "input": {"prompt": "x"}})
    assert inside.seen == []


async def test_a_listed_host_is_reached_even_on_loopback() -> None:
    """The operator's list wins over the private-address rule (how the sandbox stays usable)."""
    with listener(succeeded("https://example.invalid/v.mp4")) as provider:
        async with VideoClient(dashscope(provider.url, only(f"127.0.0.1:{provider.port}"))) as client:
            read = await client.status("t-1")
    assert read.task.state == "succeeded" and provider.paths() == ["/api/v1/tasks/t-1"]


async def test_a_listed_host_allows_only_the_listed_port() -> None:
    """'127.0.0.1:PORT' in the list does not open the other services on that machine."""
    with listener(internal_service) as inside:
        async with VideoClient(gateway(inside.url, only("127.0.0.1:1"))) as client:
            with pytest.raises(HostRefused):
                await client.status("t-1")
    assert inside.seen == []


async def test_the_default_policy_is_the_command_lines_and_reaches_anything() -> None:
    """The CLI runs on its user's machine: loopback is fine, and no list applies."""
    assert ProviderConfig(kind="gateway", wire="gateway", base_url="http://127.0.0.1:1/v1").hosts == PERMISSIVE
    assert provider_from_settings(Settings(), "gateway", base_url="http://127.0.0.1:1/v1").hosts == PERMISSIVE
    with listener(succeeded("https://example.invalid/v.mp4")) as provider:
        async with VideoClient(dashscope(provider.url)) as client:
            await client.status("t-1")
    assert provider.paths() == ["/api/v1/tasks/t-1"]


# -- 1. host policy: URLs the provider's answer names ------------------------------------------


async def test_recover_does_not_download_a_result_url_pointing_inside(ledger: Ledger, tmp_path: Path) -> None:
    """/recover_task: a provider (or a fake one) answers SUCCEEDED with video_url on an internal
    host; the run ends refused, and the internal host never sees a request."""
    with listener(internal_service) as inside, listener(succeeded(f"{inside.url}/admin/export")) as provider:
        policy = only(f"127.0.0.1:{provider.port}")
        events = await collect(recover("t-1", dashscope(provider.url, policy), ledger, tmp_path / "out",
                                       options=RunOptions(schedule=FAST)))
    last = events[-1]
    assert inside.seen == [] and "/api/v1/tasks/t-1" in provider.paths()
    assert isinstance(last.error, HostRefused) and last.error.field == "result URL"
    assert last.message.startswith(f"result URL: 127.0.0.1:{inside.port} is not a public host")
    assert last.guidance_id == "host_refused"
    assert all(SECRET not in e.message for e in events)


async def test_the_cloud_metadata_address_is_refused_without_a_connection(tmp_path: Path) -> None:
    """169.254.169.254 is refused from the address alone (there is nothing to connect to here)."""
    async with VideoClient(dashscope("https://dashscope-intl.aliyuncs.com", NO_PRIVATE)) as client:
        with pytest.raises(HostRefused, match=r"^result URL: 169\.254\.169\.254:80 is not a public host"):
            await client.download("http://169.254.169.254/latest/meta-data/iam/", tmp_path / "v.mp4")
    assert not (tmp_path / "v.mp4").exists()


async def test_a_result_on_the_providers_own_host_is_downloaded(tmp_path: Path) -> None:
    """The sandbox serves its results from its own host: that stays allowed under a list."""
    def provider_files(_method: str, _path: str) -> Answer:
        return 200, "video/mp4", b"not really a video"

    with listener(provider_files) as provider:
        async with VideoClient(dashscope(provider.url, only(f"127.0.0.1:{provider.port}"))) as client:
            size = await client.download(f"{provider.url}/files/results/t-1.mp4", tmp_path / "v.mp4")
    assert size == len(b"not really a video") and provider.paths() == ["/files/results/t-1.mp4"]


async def test_an_upload_host_pointing_inside_is_refused(tmp_path: Path) -> None:
    """DashScope's upload policy names the bucket to post the file to; it may not be internal."""
    picture = make_image(tmp_path / "frame.png", 320, 240, seed=1)
    with listener(internal_service) as inside:
        def policy_answer(_method: str, _path: str) -> Answer:
            return json_answer({"data": {"upload_host": f"{inside.url}/internal-bucket", "upload_dir": "d",
                                         "policy": "p", "signature": "s", "oss_access_key_id": "k"}})

        with listener(policy_answer) as provider:
            client = VideoClient(dashscope(provider.url, only(f"127.0.0.1:{provider.port}")))
            async with client:
                with pytest.raises(HostRefused) as caught:
                    await client.upload(picture, model="wan2.7-i2v")
    assert inside.seen == [] and provider.paths()[0].startswith("/api/v1/uploads?")
    assert caught.value.field == "upload_host"


async def test_a_name_rebound_to_loopback_after_the_check_gets_no_connection(tmp_path: Path) -> None:
    """DNS rebinding: the result URL's name answers a public address when it is checked and the
    server's own loopback when the connection is made. The connection goes only to addresses
    that passed the check, so the internal service sees nothing. ('localhost' really resolves to
    loopback here: without the pin, httpx would connect to the internal service by name.)"""
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])

    async def rebinding(host: str, _port: int) -> list[str]:
        assert host == "localhost"
        return next(answers, ["127.0.0.1"])

    with listener(internal_service) as inside, listener(succeeded("unused")) as provider:
        policy = only(f"127.0.0.1:{provider.port}")
        async with VideoClient(dashscope(provider.url, policy), resolve=rebinding) as client:
            with pytest.raises(HostRefused) as caught:
                await client.download(f"http://localhost:{inside.port}/admin/export", tmp_path / "v.mp4")
    assert inside.seen == [], "the rebound name reached the internal service"
    assert caught.value.field == "host"
    assert caught.value.message.startswith(f"host: localhost:{inside.port} resolved to a non-public address when the "
                                           "connection was made")
    assert not (tmp_path / "v.mp4").exists()


async def test_a_checked_name_is_connected_to_at_the_address_that_was_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pin itself: the connection goes to the address the guard resolved and judged, never
    to a fresh lookup. The name is under .invalid (no resolver on earth answers it) and the
    guard's lookup answers loopback, which this test lets count as public; the download arrives,
    so it can only have gone to the checked address. A listed host is connected to by name."""
    monkeypatch.setattr("playground.client.hosts.is_public_address", lambda _address: True)
    monkeypatch.setattr("playground.client.pinned_connect.is_public_address", lambda _address: True)

    async def pinned(host: str, _port: int) -> list[str]:
        assert host == "video.invalid"
        return ["127.0.0.1"]

    def files(_method: str, _path: str) -> Answer:
        return 200, "video/mp4", b"bytes of a video"

    with listener(files) as host, listener(succeeded("unused")) as provider:
        async with VideoClient(dashscope(provider.url, only(f"127.0.0.1:{provider.port}")), resolve=pinned) as client:
            size = await client.download(f"http://video.invalid:{host.port}/v.mp4", tmp_path / "v.mp4")
    assert size == len(b"bytes of a video") and host.paths() == ["/v.mp4"]
    listed = PinnedBackend(only("video.invalid:443"), resolve=pinned)
    assert await listed.addresses("video.invalid", 443) == ["video.invalid"]


# -- 1. host policy: the pure parts -----------------------------------------------------------


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",
    "100.64.0.1", "::1", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "::ffff:127.0.0.1",
    "::ffff:169.254.169.254", "64:ff9b::7f00:1", "2002:7f00:1::", "224.0.0.1", "not an address",
])
def test_addresses_inside_a_network_are_not_public(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "47.88.1.1", "2606:4700:4700::1111"])
def test_addresses_on_the_internet_are_public(address: str) -> None:
    assert is_public_address(address)


def resolver(table: dict[str, list[str]]) -> Callable[[str, int], Any]:
    async def resolve(host: str, _port: int) -> list[str]:
        if host not in table:
            raise OSError("no such name")
        return table[host]
    return resolve


@pytest.mark.parametrize(("host", "allowed"), [
    ("public.example", True),
    ("inside.example", False),
    ("mixed.example", False),  # every address counts: one private address is enough to refuse
    ("nowhere.example", False),  # a name that does not resolve cannot be shown to be public
])
async def test_a_named_url_is_judged_by_every_address_its_name_has(host: str, allowed: bool) -> None:
    resolve = resolver({"public.example": ["93.184.215.14"], "inside.example": ["10.0.0.7"],
                        "mixed.example": ["93.184.215.14", "192.168.0.9"]})
    check = check_target(NO_PRIVATE, f"https://{host}/v.mp4", provider_url="https://dashscope.aliyuncs.com/api/v1",
                         field="result URL", resolve=resolve)
    if allowed:
        await check
    else:
        with pytest.raises(HostRefused, match=rf"^result URL: {host}:443 "):
            await check


def test_allowed_host_names_parse_like_urls_and_bad_ones_are_refused() -> None:
    assert parse_hosts(" GW.Example.com ,10.0.0.5:8080, [::1]:9000,") == {
        ("gw.example.com", None), ("10.0.0.5", 8080), ("::1", 9000)}
    assert Target.of("http://LOCALHOST.:81/x") == Target("localhost", 81)
    for bad in ("http://a.example/path", "a.example/x", "user@a.example", "a.example:notaport"):
        with pytest.raises(ValueError, match="host\\[:port\\]"):
            parse_hosts(bad)


def test_the_servers_policy_allows_dashscope_its_own_config_and_its_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """By default: the DashScope hosts, the configured base URL, and the embedded sandbox."""
    monkeypatch.delenv("PLAYGROUND_ALLOWED_HOSTS", raising=False)
    monkeypatch.delenv("PLAYGROUND_ALLOW_PRIVATE_HOSTS", raising=False)
    settings = Settings(base_url="http://10.0.0.5:8080/v1")
    policy = server_policy(settings, "http://127.0.0.1:7860/sandbox")
    assert not policy.allow_private
    for url in ("https://dashscope.aliyuncs.com/api/v1", "https://dashscope-intl.aliyuncs.com/api/v1",
                "http://10.0.0.5:8080/v1", "http://127.0.0.1:7860/sandbox"):
        assert policy.lists(Target.of(url)), url
    for url in ("http://127.0.0.1:7861/", "http://10.0.0.5:22/", "https://evil.example/"):
        assert not policy.lists(Target.of(url)), url


def test_the_servers_policy_reads_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """PLAYGROUND_ALLOWED_HOSTS replaces the DashScope defaults; the sandbox stays allowed."""
    monkeypatch.setenv("PLAYGROUND_ALLOWED_HOSTS", "gw.example:8443,other.example")
    monkeypatch.setenv("PLAYGROUND_ALLOW_PRIVATE_HOSTS", "true")
    monkeypatch.setenv("PLAYGROUND_DASHSCOPE_REGION", "singapore")
    monkeypatch.delenv("PLAYGROUND_BASE_URL", raising=False)
    settings = Settings()
    assert settings.allowed_hosts == "gw.example:8443,other.example" and settings.allow_private_hosts
    policy = server_policy(settings, "http://127.0.0.1:7860/sandbox")
    assert policy.allow_private and policy.allowed_hosts == {
        ("gw.example", 8443), ("other.example", None), ("127.0.0.1", 7860),
        ("dashscope-intl.aliyuncs.com", None),  # the configured region is the server's own choice
    }


def test_a_resumed_run_gets_the_policy_it_is_given(ledger: Ledger) -> None:
    """provider_for (the server's resume at start-up) carries the strict policy to the client."""
    from playground.client.ledger import RunRecord

    ledger.create(RunRecord(run_id="run-1", created_at=1.0, updated_at=1.0, provider="gateway", wire="gateway",
                            base_url="http://127.0.0.1:1/v1", state="queued"))
    record = ledger.get("run-1")
    assert record is not None
    assert provider_for(record, Settings(), hosts=NO_PRIVATE).hosts == NO_PRIVATE
    assert provider_for(record, Settings()).hosts == PERMISSIVE


# -- 2. error texts never quote a stranger's body ----------------------------------------------


@pytest.mark.parametrize(("status", "kind", "body"), [
    (200, "text/plain", f"root:x:0:0:{SECRET}:/root:/bin/bash".encode()),
    (500, "text/html", f"<html><head><title>{SECRET}</title></head><body>x</body></html>".encode()),
    (404, "application/json", json.dumps({"detail": SECRET}).encode()),
    (200, "application/json", json.dumps([SECRET]).encode()),
    (400, "application/json", json.dumps({"error": SECRET}).encode()),
])
async def test_an_answer_that_is_not_the_providers_is_described_not_quoted(
    status: int, kind: str, body: bytes, ledger: Ledger, tmp_path: Path
) -> None:
    """/recover_task against whatever answers at a chosen base URL: the status line says who
    answered, with what status, content type and size, and never what the body said."""
    with listener(lambda _m, _p: (status, kind, body)) as inside:
        events = await collect(recover("t-1", dashscope(inside.url), ledger, tmp_path / "out",
                                       options=RunOptions(schedule=FAST)))
    assert inside.seen  # the permissive policy let the request go: the point is what comes back
    last = events[-1]
    assert isinstance(last.error, PlaygroundError)
    shown = [e.message for e in events] + list(last.guidance)
    assert not [line for line in shown if SECRET in line]
    record = ledger.get(last.run_id)
    assert record is None or SECRET not in (record.error_text or "")  # no row when never confirmed
    if status == 404:  # a status read answered 404 reads as "no such task for this key"
        assert "does not know this task" in last.message
        return
    assert f"the server at 127.0.0.1:{inside.port}" in last.message
    assert kind in last.message and f"{len(body)} bytes" in last.message


async def test_a_create_answer_without_a_task_id_is_not_quoted() -> None:
    """An internal JSON service answering the create: the unknown outcome says so, unquoted."""
    with listener(lambda _m, _p: json_answer({"users": [{"name": "admin", "token": SECRET}]})) as inside:
        async with VideoClient(dashscope(inside.url)) as client:
            with pytest.raises(OutcomeUnknown) as caught:
                await client.submit({"model": "m", "input": {"prompt": "x"}})
    assert SECRET not in caught.value.message and "names no task id" in caught.value.message
    assert "application/json" in caught.value.message


@pytest.mark.parametrize("error", [
    {"code": "InvalidParameter", "message": f"duration must be 2-15 (key {KEY})", "request_id": "r-9"},
    {"error": {"code": "invalid_request_error", "message": f"duration must be 2-15 (key {KEY})"}},
])
async def test_the_providers_own_error_json_is_still_quoted_without_the_key(error: dict[str, Any]) -> None:
    with listener(lambda _m, _p: json_answer(error, 400)) as provider:
        async with VideoClient(dashscope(provider.url)) as client:
            with pytest.raises(PlaygroundError) as caught:
                await client.status("t-1")
    assert "duration must be 2-15" in caught.value.message
    assert KEY not in caught.value.message and "[redacted key]" in caught.value.message


# -- 3. local files from hostile callers --------------------------------------------------------


def i2v(url: str) -> dict[str, object]:
    return {"model": "wan-2-7-video", "mode": "image-to-video",
            "input": {"prompt": "the kite rises", "duration": 2, "resolution": "720P",
                      "media": [{"type": "first_frame", "url": url}]}}


def sandbox_at(base: str) -> ProviderConfig:
    return ProviderConfig(kind="sandbox", wire="dashscope", base_url=base, api_key=SecretStr(KEY))


async def refused_message(url: str, base: str, ledger: Ledger, out: Path) -> str:
    events = await collect(run(i2v(url), sandbox_at(base), ledger, out,
                               options=RunOptions(schedule=FAST, allow_local_files=False)))
    last = events[-1]
    assert last.state == "invalid", last.message
    assert isinstance(last.error, LocalFileRefused), last.message
    return last.message


async def test_a_server_path_is_refused_without_saying_whether_it_exists(ledger: Ledger, tmp_path: Path) -> None:
    """/etc/passwd exists, /no/such/file does not: the caller cannot tell them apart, and the
    provider (here a listener standing in for the sandbox's file store) receives nothing."""
    with listener(internal_service) as store:
        shown = {url: await refused_message(url, store.url, ledger, tmp_path / "out")
                 for url in ("/etc/passwd", "/no/such/file", "file:///etc/passwd", "file:///no/such/file",
                             "../../etc/passwd", "~/.ssh/id_rsa")}
    assert store.seen == []
    assert len(set(shown.values())) == 1, shown
    message = shown["/etc/passwd"]
    assert message.startswith("input.media[0].url: ") and "upload the file" in message
    assert "passwd" not in message and "no such" not in message


async def test_a_bare_file_name_does_not_probe_the_servers_disk(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'secret.png' next to the server's working directory or not: the same refusal either way
    (the rules want a URL), so no existence test leaks through."""
    make_image(tmp_path / "secret.png", 320, 240, seed=2)
    monkeypatch.chdir(tmp_path)
    with listener(internal_service) as store:
        messages = []
        for name in ("secret.png", "missing.png"):
            events = await collect(run(i2v(name), sandbox_at(store.url), ledger, tmp_path / "out",
                                       options=RunOptions(schedule=FAST, allow_local_files=False)))
            messages.append((events[-1].state, events[-1].message.replace(name, "NAME")))
    assert store.seen == []
    assert messages[0] == messages[1] and messages[0][0] == "invalid"
