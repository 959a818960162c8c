"""Every rehearsal scenario, a refused connection and a silent server, run end to end over loopback.

Each test runs the real runner against the real sandbox (or a real socket) and checks the
outcome, the number of attempts, and the guidance shown. stamina's test mode removes the
backoff sleeps; the waits the client *planned* are still checked through its retry notes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from playground.client.errors import (
    ApiRefused,
    AuthRefused,
    DeadlinePassed,
    OutcomeUnknown,
    ResultExpired,
    TaskFailed,
    TransportFailed,
    WrongEndpoint,
)
from playground.client.ledger import Ledger
from playground.client.providers import ProviderConfig
from playground.client.runner import RunEvent, run
from playground.core.wire import WireFormat
from tests.fixtures_client import (
    SHORT,
    T2V,
    closed_port,
    collect,
    new_key,
    options,
    sandbox_provider,
    silent_server,
)

pytestmark = pytest.mark.usefixtures("no_backoff")

WIRES: tuple[WireFormat, ...] = ("dashscope", "gateway")


async def go(provider: ProviderConfig, ledger: Ledger, out: Path, *, deadline_s: float = 60.0,
             **kw: object) -> list[RunEvent]:
    return await collect(run(T2V, provider, ledger, out, deadline_s=deadline_s, options=options(**kw)))  # type: ignore[arg-type]


def leftovers(folder: Path) -> list[Path]:
    return [*folder.glob("run-*/*.mp4"), *folder.glob("run-*/.*.part")]


def retries(events: list[RunEvent]) -> list[RunEvent]:
    return [e for e in events if e.retry is not None]


@pytest.mark.parametrize("wire", WIRES)
async def test_happy_path_downloads_a_probed_video(sandbox_base: str, ledger: Ledger, tmp_path: Path,
                                                   wire: WireFormat) -> None:
    """Queued, running, downloading, succeeded: a playable MP4 in the run's folder."""
    events = await go(sandbox_provider(sandbox_base, wire), ledger, tmp_path)
    last = events[-1]
    assert last.state == "succeeded" and last.error is None
    assert last.video_path == tmp_path / last.run_id / "video.mp4" and last.video_path.is_file()
    assert last.media is not None and last.media.kind == "video"
    assert (last.media.width, last.media.height) == (1280, 720)
    states = [s for s, _ in last.timeline]
    assert states[:3] == ["submitting", "queued", "running"] and states[-2:] == ["downloading", "succeeded"]
    record = ledger.get(last.run_id)
    assert record is not None and record.finished and record.result_path == str(last.video_path)


@pytest.mark.parametrize("wire", WIRES)
async def test_rate_limit_backs_off_honouring_retry_after(sandbox_base: str, ledger: Ledger, tmp_path: Path,
                                                          wire: WireFormat) -> None:
    """Two 429s with Retry-After: 1, then success on the third attempt."""
    events = await go(sandbox_provider(sandbox_base, wire, scenario="rate_limit"), ledger, tmp_path)
    notes = [e.retry for e in retries(events)]
    assert [n.attempt for n in notes if n] == [1, 2]
    assert all(n is not None and n.wait_s == 1.0 and n.guidance_id == "rate_limited" for n in notes)
    assert events[-1].state == "succeeded"
    assert "after 3 attempts" in next(e.message for e in events if e.state == "queued")
    # The ledger keeps each retry (with its refused request's id) in the run's history.
    logged = [e.detail or "" for e in ledger.events(events[-1].run_id) if "retrying in 1.0 s" in (e.detail or "")]
    assert len(logged) == 2 and all("request id" in line for line in logged)


@pytest.mark.parametrize("wire", WIRES)
async def test_server_error_is_retried_then_succeeds(sandbox_base: str, ledger: Ledger, tmp_path: Path,
                                                     wire: WireFormat) -> None:
    """Two 500s, then success: 3 attempts, exponential waits from the table."""
    events = await go(sandbox_provider(sandbox_base, wire, scenario="server_error"), ledger, tmp_path)
    notes = [e.retry for e in retries(events) if e.retry]
    assert [n.attempt for n in notes] == [1, 2]
    assert {"server_error"} == {n.guidance_id for n in notes}
    assert 1.0 <= notes[0].wait_s <= 1.5 and 2.0 <= notes[1].wait_s <= 2.5
    assert events[-1].state == "succeeded"


@pytest.mark.parametrize("wire", WIRES)
async def test_invalid_key_is_refused_once(sandbox_base: str, ledger: Ledger, tmp_path: Path, wire: WireFormat) -> None:
    """401: no retry, the auth guidance, and the key nowhere in what is shown."""
    provider = sandbox_provider(sandbox_base, wire, scenario="invalid_key")
    events = await go(provider, ledger, tmp_path)
    last = events[-1]
    assert last.state == "refused" and isinstance(last.error, AuthRefused)
    assert last.error.attempts == 1 and last.error.status == 401 and last.guidance_id == "auth"
    assert not retries(events)
    key = provider.api_key.get_secret_value() if provider.api_key else ""
    assert key not in str(last.error) and all(key not in line for line in last.guidance)


async def test_a_key_the_server_echoes_is_scrubbed(sandbox_base: str, ledger: Ledger, tmp_path: Path) -> None:
    """Even if a provider repeats the key in its message, the error text never holds it."""
    provider = sandbox_provider(sandbox_base, "dashscope", key=new_key())
    bad = provider.model_copy(update={"api_key": SecretStr("sk-invalid-" + "9" * 12)})
    events = await go(bad, ledger, tmp_path)
    assert events[-1].state == "refused"
    assert "sk-invalid-999999999999" not in str(events[-1].error)


@pytest.mark.parametrize("wire", WIRES)
async def test_task_failed_shows_moderation_guidance(sandbox_base: str, ledger: Ledger, tmp_path: Path,
                                                     wire: WireFormat) -> None:
    """A task that ends FAILED with DataInspectionFailed: one create, the moderation entry."""
    events = await go(sandbox_provider(sandbox_base, wire, scenario="task_failed"), ledger, tmp_path)
    last = events[-1]
    assert last.state == "failed" and isinstance(last.error, TaskFailed)
    assert last.error.code == "DataInspectionFailed" and last.guidance_id == "task_content_rejected"
    assert "created (request id" in next(e.message for e in events if e.state == "queued")
    record = ledger.get(last.run_id)
    assert record is not None and record.guidance_id == "task_content_rejected" and record.finished


@pytest.mark.parametrize("wire", WIRES)
async def test_wrong_endpoint_is_explained_not_retried(sandbox_base: str, ledger: Ledger, tmp_path: Path,
                                                       wire: WireFormat) -> None:
    """Gateway: 'invalid api type: -1'; DashScope: 'url error'. Both: one attempt, endpoint guidance."""
    events = await go(sandbox_provider(sandbox_base, wire, scenario="wrong_endpoint"), ledger, tmp_path)
    last = events[-1]
    assert last.state == "refused" and isinstance(last.error, WrongEndpoint) and last.error.attempts == 1
    expected = "wrong_endpoint" if wire == "gateway" else "dashscope_url_error"
    assert expected == last.guidance_id
    assert any("POST" in line and "poll" in line for line in last.guidance)


async def test_expired_result_on_the_gateway(sandbox_base: str, ledger: Ledger, tmp_path: Path) -> None:
    """Completed, but the link is gone: ResultExpired, with the expiry guidance, no file left behind."""
    events = await go(sandbox_provider(sandbox_base, "gateway", scenario="expired"), ledger, tmp_path)
    last = events[-1]
    assert last.state == "expired" and isinstance(last.error, ResultExpired) and last.guidance_id == "result_expired"
    assert leftovers(tmp_path) == []


async def test_expired_task_on_dashscope_reads_expired(sandbox_base: str, ledger: Ledger, tmp_path: Path) -> None:
    """DashScope forgets an expired task (it reads UNKNOWN): a task it knew before has expired,
    which is what the run says, not a key or region problem."""
    events = await go(sandbox_provider(sandbox_base, "dashscope", scenario="expired"), ledger, tmp_path)
    last = events[-1]
    assert last.state == "expired" and isinstance(last.error, TaskFailed) and last.guidance_id == "task_expired"
    assert "24 hours" in " ".join(last.guidance) and "region" not in last.guidance[-1]


@pytest.mark.parametrize("wire", WIRES)
async def test_slow_task_completes_within_a_generous_deadline(sandbox_base: str, ledger: Ledger, tmp_path: Path,
                                                              wire: WireFormat) -> None:
    """The slow scenario queues long, then finishes: polling just keeps going."""
    events = await go(sandbox_provider(sandbox_base, wire, scenario="slow"), ledger, tmp_path)
    assert events[-1].state == "succeeded"
    assert events[-1].poll_count >= 3


async def test_slow_task_past_its_deadline_is_cancelled_on_dashscope(sandbox_base: str, ledger: Ledger,
                                                                     tmp_path: Path) -> None:
    """Still PENDING at the deadline: the remote task is canceled, and the error says so."""
    events = await go(sandbox_provider(sandbox_base, "dashscope", scenario="slow"), ledger, tmp_path, deadline_s=0.3)
    last = events[-1]
    assert last.state == "deadline" and isinstance(last.error, DeadlinePassed)
    assert last.error.cancelled and last.guidance_id == "deadline_passed"
    assert any("Cancelled the remote task" in line for line in last.guidance)


async def test_slow_task_past_its_deadline_on_the_gateway_says_it_could_not_cancel(
    sandbox_base: str, ledger: Ledger, tmp_path: Path
) -> None:
    """The gateway format has no cancel: the error says the task may still finish."""
    events = await go(sandbox_provider(sandbox_base, "gateway", scenario="slow"), ledger, tmp_path, deadline_s=0.3)
    last = events[-1]
    assert isinstance(last.error, DeadlinePassed) and not last.error.cancelled
    assert any("recovered by its task id" in line for line in last.guidance)


@pytest.mark.parametrize("wire", WIRES)
async def test_refused_connection_is_retried_then_reported(ledger: Ledger, tmp_path: Path, wire: WireFormat) -> None:
    """Nothing listens: three connection attempts (the table's), then 'unreachable'; nothing was created."""
    provider = sandbox_provider(f"http://127.0.0.1:{closed_port()}/sandbox", wire)
    events = await go(provider, ledger, tmp_path)
    last = events[-1]
    assert last.state == "unreachable" and isinstance(last.error, TransportFailed)
    assert last.error.reason == "connect" and last.error.attempts == 3 and last.guidance_id == "connect_failed"
    assert [e.retry.attempt for e in retries(events) if e.retry] == [1, 2]
    assert any("no task was created" in line for line in last.guidance)


@pytest.mark.parametrize("wire", WIRES)
async def test_a_silent_server_makes_the_outcome_unknown_and_nothing_is_resent(
    ledger: Ledger, tmp_path: Path, wire: WireFormat
) -> None:
    """The create is sent, no answer comes: one attempt only, OutcomeUnknown, and how to find the task."""
    with silent_server() as (url, received):
        events = await go(sandbox_provider(f"{url}/sandbox", wire), ledger, tmp_path, timeout=SHORT)
        creates = [head for head in received if head.startswith(b"POST")]
    last = events[-1]
    assert last.state == "outcome_unknown" and isinstance(last.error, OutcomeUnknown)
    assert last.error.attempts == 1 and len(creates) == 1
    assert last.guidance_id == "outcome_unknown"
    assert any("--recover" in line for line in last.guidance)
    record = ledger.get(last.run_id)
    assert record is not None and record.task_id is None and record.body_hash and record.finished


async def test_a_silent_server_while_polling_leaves_the_run_resumable(
    sandbox_base: str, ledger: Ledger, tmp_path: Path
) -> None:
    """Status reads that time out are retried (read_timeout), then the run is 'stalled', not lost."""
    provider = sandbox_provider(sandbox_base, "dashscope")
    first = await go(provider, ledger, tmp_path)
    task_id = first[-1].task_id
    assert task_id is not None
    # The run as if the playground had stopped while it was running, picked up again while the
    # provider has gone silent.
    ledger.update(first[-1].run_id, state="running", finished=0, result_path=None)
    with silent_server() as (url, received):
        from playground.client.runner import resume

        silent = provider.model_copy(update={"base_url": f"{url}/sandbox"})
        events = await collect(resume(first[-1].run_id, ledger, silent, options=options(timeout=SHORT)))
        reads = [h for h in received if h.startswith(b"GET")]
    last = events[-1]
    assert last.state == "stalled" and isinstance(last.error, TransportFailed) and last.error.attempts == 3
    assert len(reads) == 3 and last.guidance_id == "read_timeout"
    record = ledger.get(last.run_id)
    assert record is not None and not record.finished


async def test_every_refusal_carries_request_id_and_provider(sandbox_base: str, ledger: Ledger, tmp_path: Path) -> None:
    """The error keeps what support needs: status, code, message, request id, provider."""
    events = await go(sandbox_provider(sandbox_base, "gateway", scenario="wrong_endpoint"), ledger, tmp_path)
    error = events[-1].error
    assert isinstance(error, ApiRefused)
    assert error.request_id and error.provider == "sandbox" and error.status == 500
    assert error.code == "invalid_api_type" and "invalid api type" in error.provider_message
