"""One attach path: probe, check, upload bound to the request's model, over real loopback HTTP.

DashScope binds a temporary upload to the model named when it was uploaded and to the account
that uploaded it; the flow exists in the Beijing region only, and files live 48 h (§6.1). The
sandbox enforces both bindings, so a wrongly bound upload fails here as it would in production.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr

from playground.client import ApiRefused, InvalidRequest, Ledger, LocalFileWrongRegion, VideoClient, run
from playground.client.attach import Upload, UploadBook, dashscope_region
from playground.client.providers import ProviderConfig
from playground.core.profile import load_profile
from playground.media.checks import check_file
from playground.media.samples import make_image
from playground.settings import DASHSCOPE_REGIONS, Settings
from playground.ui import runs
from playground.ui.connection import Connection, provider_config, run_options
from playground.ui.services import Services
from tests.fixtures_client import FAST, collect, new_key
from tests.fixtures_sandbox import dashscope_headers, upload, wait_dashscope

pytestmark = pytest.mark.usefixtures("no_backoff")

CREATE = "/api/v1/services/aigc/video-generation/video-synthesis"
RESOLVE = {"X-DashScope-OssResourceResolve": "enable"}
OWNER = "browser-attach-test"


def i2v(url: str) -> dict[str, Any]:
    media = [{"type": "first_frame", "url": url}]
    return {"model": "wan2.7-i2v", "input": {"prompt": "the kite rises", "media": media},
            "parameters": {"resolution": "720P", "duration": 2}}


def dashscope_at(sandbox_base: str, key: SecretStr) -> ProviderConfig:
    """DashScope's contract, served by the sandbox (its temporary-upload flow included)."""
    return ProviderConfig(kind="dashscope", wire="dashscope", base_url=f"{sandbox_base}/api/v1", api_key=key)


def temporary_upload(provider: ProviderConfig, path: Path, model: str) -> str:
    """The client's own temporary upload (getPolicy for ``model``, then the bucket), from sync code."""

    async def go() -> str:
        async with VideoClient(provider) as video:
            return await video.upload(path, model=model)

    return asyncio.run(go())


@pytest.fixture
def services(tmp_path: Path) -> Services:
    settings = Settings(data_dir=tmp_path / "data")
    return Services(settings, load_profile(), "http://127.0.0.1:9/sandbox", settings.data_dir)


def connection(sandbox_base: str | None, key: SecretStr) -> Connection:
    base = f"{sandbox_base}/api/v1" if sandbox_base else None
    return Connection(provider="dashscope", wire="dashscope", base_url=base, scenario=None, api_key=key,
                           owner=OWNER)


async def send(services: Services, conn: Connection, body: dict[str, Any], ledger: Ledger, out: Path,
               *, book: bool = True) -> list[Any]:
    """Send as the UI's Send does (its run options, its provider), polling fast."""
    options = dataclasses.replace(run_options(services), schedule=FAST)
    if not book:
        options = dataclasses.replace(options, uploads=None)
    provider = provider_config(services, conn)
    return await collect(run(body, provider, ledger, out, session_id=conn.owner, options=options))


# -- B: the sandbox enforces the bindings ---------------------------------------------------------


def test_a_t2v_bound_upload_used_for_i2v_fails_in_the_sandbox(sandbox_base: str, client: httpx.Client,
                                                              tmp_path: Path) -> None:
    """The hidden bug: an upload asked for with the text-to-video model, sent in an image-to-video
    request, is refused at the create, naming the field, both models and the fix."""
    key = new_key()
    frame = make_image(tmp_path / "frame.png", 640, 360)
    bound_to_t2v = temporary_upload(dashscope_at(sandbox_base, key), frame, "wan2.7-t2v")
    bound_to_i2v = temporary_upload(dashscope_at(sandbox_base, key), frame, "wan2.7-i2v")
    headers = {**dashscope_headers(key.get_secret_value()), **RESOLVE}

    wrong = client.post(sandbox_base + CREATE, json=i2v(bound_to_t2v), headers=headers)
    assert wrong.status_code == 400, wrong.text
    body = wrong.json()
    assert body["code"] == "InvalidParameter"
    for words in ("input.media[0].url", "uploaded for model wan2.7-t2v", "cannot be used with wan2.7-i2v",
                  "upload it again with model=wan2.7-i2v"):
        assert words in body["message"], body

    right = client.post(sandbox_base + CREATE, json=i2v(bound_to_i2v), headers=headers)
    assert right.status_code == 200, right.text
    done = wait_dashscope(client, sandbox_base, right.json()["output"]["task_id"], key.get_secret_value())
    assert done["output"]["task_status"] == "SUCCEEDED", done


def test_a_key_cannot_use_another_keys_upload_even_under_its_own_name(
    sandbox_base: str, client: httpx.Client, tmp_path: Path
) -> None:
    """The account binding is the recorded one: putting one's own key tag in front of another
    key's upload folder does not make the file one's own."""
    owner, stranger = new_key(), new_key()
    frame = make_image(tmp_path / "frame.png", 640, 360)
    url = temporary_upload(dashscope_at(sandbox_base, owner), frame, "wan2.7-i2v")
    bucket, _tag, day, folder, name = url.removeprefix("oss://").split("/")
    stranger_tag = hashlib.sha256(stranger.get_secret_value().encode()).hexdigest()[:16]
    for attempt in (url, f"oss://{bucket}/{stranger_tag}/{day}/{folder}/{name}"):
        answer = client.post(sandbox_base + CREATE, json=i2v(attempt),
                             headers={**dashscope_headers(stranger.get_secret_value()), **RESOLVE})
        assert answer.status_code == 400, answer.text
        assert "another API key" in answer.json()["message"]


# -- A: the UI's attach path, and Send ------------------------------------------------------------


async def test_the_ui_attach_path_binds_the_upload_to_the_modes_model(
    services: Services, sandbox_base: str, ledger: Ledger, tmp_path: Path
) -> None:
    """runs.attach for the image-to-video tab uploads for wan2.7-i2v; Send uses the URL as it is."""
    key = new_key()
    conn = connection(sandbox_base, key)
    frame = make_image(tmp_path / "frame.png", 640, 360)
    url, problems = await runs.attach(services, conn, frame, "first_frame", ("first_frame",), "image-to-video")
    assert url is not None and url.startswith("oss://"), problems
    recorded = services.uploads.find(url, OWNER)
    assert recorded is not None and recorded.model == "wan2.7-i2v" and recorded.path == frame
    assert services.uploads.find(url, "another-browser") is None  # one browser's uploads are its own

    events = await send(services, conn, i2v(url), ledger, tmp_path / "out")
    assert events[-1].state == "succeeded", events[-1].message
    assert not any(e.state == "uploading" for e in events)
    sent = events[-1].wire_body
    assert sent is not None and sent["input"]["media"][0]["url"] == url


async def test_a_file_attached_for_another_model_is_uploaded_again_at_send(
    services: Services, sandbox_base: str, ledger: Ledger, tmp_path: Path
) -> None:
    """Attached in the text-to-video tab (bound to wan2.7-t2v), sent as image-to-video: without the
    book the service refuses it; with it, Send uploads it again for wan2.7-i2v and succeeds."""
    key = new_key()
    conn = connection(sandbox_base, key)
    frame = make_image(tmp_path / "frame.png", 640, 360)
    url, problems = await runs.attach(services, conn, frame, "first_frame", ("first_frame",), "text-to-video")
    assert url is not None, problems

    blind = await send(services, conn, i2v(url), ledger, tmp_path / "blind", book=False)
    error = blind[-1].error
    assert isinstance(error, ApiRefused) and "wan2.7-t2v" in error.message, blind[-1].message

    events = await send(services, conn, i2v(url), ledger, tmp_path / "out")
    assert events[-1].state == "succeeded", events[-1].message
    again = [e.message for e in events if e.state == "uploading"]
    assert again and "again for wan2.7-i2v" in again[0] and "uploaded for wan2.7-t2v" in again[0], again
    sent = events[-1].wire_body
    assert sent is not None
    fresh = sent["input"]["media"][0]["url"]
    assert fresh.startswith("oss://") and fresh != url
    rebound = services.uploads.find(fresh, OWNER)
    assert rebound is not None and rebound.model == "wan2.7-i2v"


async def test_an_upload_older_than_48_hours_is_uploaded_again_or_refused(
    services: Services, sandbox_base: str, ledger: Ledger, tmp_path: Path
) -> None:
    key = new_key()
    conn = connection(sandbox_base, key)
    long_ago = time.time() - 49 * 3600

    async def attached_long_ago(name: str) -> str:
        frame = make_image(tmp_path / name, 640, 360)
        url, problems = await runs.attach(services, conn, frame, "first_frame", ("first_frame",), "image-to-video")
        assert url is not None, problems
        made = services.uploads.find(url, OWNER)
        assert made is not None
        services.uploads.add(dataclasses.replace(made, uploaded_at=long_ago))
        return url

    kept = await attached_long_ago("kept.png")
    events = await send(services, conn, i2v(kept), ledger, tmp_path / "out")
    assert events[-1].state == "succeeded", events[-1].message
    assert any(e.state == "uploading" and "deleted after 48 h" in e.message for e in events)

    gone = await attached_long_ago("gone.png")
    (tmp_path / "gone.png").unlink()
    runs_before = len(ledger.runs())
    refused = await send(services, conn, i2v(gone), ledger, tmp_path / "refused")
    error = refused[-1].error
    assert isinstance(error, InvalidRequest), refused[-1].message
    for words in ("input.media[0].url", "48 h", "attach the file again"):
        assert words in error.message, error.message
    assert len(ledger.runs()) == runs_before  # nothing was sent


# -- A(2): no temporary upload outside Beijing ----------------------------------------------------


def test_the_region_is_told_from_the_host() -> None:
    def region(url: str) -> str | None:
        return dashscope_region(ProviderConfig(kind="dashscope", wire="dashscope", base_url=url))

    assert region(DASHSCOPE_REGIONS["beijing"]) is None
    assert region(DASHSCOPE_REGIONS["singapore"]) == "Singapore"
    assert region("https://ws-1.cn-beijing.maas.aliyuncs.com/api/v1") is None
    assert region("https://ws-1.ap-southeast-1.maas.aliyuncs.com/api/v1") == "ap-southeast-1"
    assert region("https://my-proxy.example.com/api/v1") is None  # unknown: the upload is tried


async def test_a_local_file_for_singapore_is_refused_before_anything_is_sent(
    services: Services, ledger: Ledger, tmp_path: Path
) -> None:
    frame = make_image(tmp_path / "frame.png", 640, 360)
    singapore = ProviderConfig(kind="dashscope", wire="dashscope", base_url=DASHSCOPE_REGIONS["singapore"],
                               api_key=new_key())
    for url in (str(frame), "oss://dashscope-instant/abc/2026-01-01/x/frame.png"):
        events = await collect(run(i2v(url), singapore, ledger, tmp_path / "out",
                                   options=dataclasses.replace(run_options(services), allow_local_files=True)))
        error = events[-1].error
        assert isinstance(error, LocalFileWrongRegion), events[-1].message
        for words in ("input.media[0].url", "Singapore", "China (Beijing) only", "use a public URL",
                      "your own OSS bucket", "the Beijing region"):
            assert words in error.message, error.message
        assert error.guidance.id == "local_file_region"
        assert not any(e.state in ("uploading", "submitting") for e in events)
    assert ledger.runs() == []

    # The UI's attach button says the same, for the field, before the file is even read.
    conn = connection(None, new_key())
    attached, problems = await runs.attach(services, conn, frame, "first_frame", ("first_frame",), "image-to-video")
    assert attached is None and problems[0].loc == ("first_frame",)
    assert "Beijing" in problems[0].message and "your own OSS bucket" in problems[0].fix


# -- C: the no-alpha rule comes from the profile --------------------------------------------------


def transparent_png(path: Path) -> Path:
    Image.new("RGBA", (640, 360), (200, 40, 40, 128)).save(path)
    return path


def test_alpha_is_refused_where_the_profile_says_so(tmp_path: Path) -> None:
    profile = load_profile()
    assert profile.media["reference_image"].allows_alpha is False
    clear = transparent_png(tmp_path / "clear.png")
    found = check_file(clear, profile.media["reference_image"], ("media", 0, "url"))
    assert [p.message for p in found.errors] == [
        "this PNG has an alpha channel (transparency), which is not accepted here"]
    assert "opaque background" in found.errors[0].fix
    assert check_file(clear, profile.media["first_frame"], ()).ok  # only reference images say "no alpha"
    assert check_file(make_image(tmp_path / "solid.png", 640, 360), profile.media["reference_image"], ()).ok


def test_the_sandbox_runs_the_same_alpha_check(sandbox_base: str, client: httpx.Client, tmp_path: Path) -> None:
    """A transparent reference image reaches the sandbox by URL; its render worker refuses it."""
    url = upload(client, sandbox_base, transparent_png(tmp_path / "clear.png"))
    body = {"model": "wan2.7-r2v", "input": {"prompt": "Image 1 waves", "media": [{"type": "reference_image",
                                                                                  "url": url}]},
            "parameters": {"resolution": "720P", "duration": 2}}
    created = client.post(sandbox_base + CREATE, json=body, headers=dashscope_headers())
    assert created.status_code == 200, created.text
    output = wait_dashscope(client, sandbox_base, created.json()["output"]["task_id"])["output"]
    assert output["task_status"] == "FAILED" and output["code"] == "InvalidParameter", output
    assert "input.media[0].url (reference_image)" in output["message"] and "alpha channel" in output["message"]


async def test_the_client_refuses_a_transparent_reference_image_before_upload(
    sandbox_base: str, ledger: Ledger, tmp_path: Path
) -> None:
    clear = transparent_png(tmp_path / "clear.png")
    body = {"model": "wan2.7-r2v", "input": {"prompt": "Image 1 waves", "media": [{"type": "reference_image",
                                                                                  "url": str(clear)}]},
            "parameters": {"resolution": "720P", "duration": 2}}
    events = await collect(run(body, dashscope_at(sandbox_base, new_key()), ledger, tmp_path / "out"))
    error = events[-1].error
    assert isinstance(error, InvalidRequest) and any("alpha channel" in p for p in error.problems), error
    assert not any(e.state == "uploading" for e in events)


def test_the_book_forgets_what_has_expired() -> None:
    now = [1_000_000.0]
    book = UploadBook(clock=lambda: now[0])
    old = Upload("oss://b/o/d/f/a.png", Path("a.png"), "first_frame", "wan2.7-i2v", "acct", OWNER, now[0])
    book.add(old)
    assert book.find(old.url, OWNER) == old
    assert old.unusable(model="wan2.7-i2v", account="acct", now=now[0]) is None
    assert "another API key" in (old.unusable(model="wan2.7-i2v", account="other", now=now[0]) or "")
    now[0] += 49 * 3600
    assert "48 h" in (old.unusable(model="wan2.7-i2v", account="acct", now=now[0]) or "")
    book.add(dataclasses.replace(old, url="oss://b/o/d/g/b.png", uploaded_at=now[0]))
    assert book.find(old.url, OWNER) is None
