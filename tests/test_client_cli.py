"""`python -m playground submit`: status lines, guidance on failure, the video path, and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from playground.cli import main
from playground.client.cli import exit_code
from playground.client.ledger import Ledger
from playground.client.ledger_location import ledger_path
from tests.fixtures_client import T2V, closed_port

pytestmark = pytest.mark.usefixtures("cli_environment")


def submit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = main(["submit", *args])
    out, err = capsys.readouterr()
    return code, out.strip().splitlines(), err


def test_success_prints_each_change_then_the_video_path(sandbox_base: str, request_file: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 0; one line per state; the last line is the downloaded video."""
    code, lines, _ = submit(capsys, str(request_file), "--base-url", sandbox_base, "--wait")
    assert code == 0
    assert Path(lines[-1]).is_file()
    states = [line.split("] ", 1)[1].split(":")[0].split(" ")[0] for line in lines if line.startswith("[")]
    assert states[:3] == ["validating", "submitting", "queued"] and states[-2:] == ["downloading", "succeeded"]
    assert len(states) == len(set(states)) + states.count("validating") - 1


def test_the_sandbox_is_embedded_when_no_base_url_is_given(request_file: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """No --base-url with the sandbox provider: it starts one by itself (and waits)."""
    code, lines, _ = submit(capsys, str(request_file))
    assert code == 0
    assert lines[0].startswith("embedded sandbox at http://127.0.0.1:")
    assert Path(lines[-1]).is_file()


def test_an_invalid_request_exits_1_with_its_problems(sandbox_base: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The JSON path of each problem is printed; nothing is sent."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**T2V, "input": {"prompt": "x", "duration": 40}}))
    code, lines, _ = submit(capsys, str(bad), "--base-url", sandbox_base, "--wait")
    assert code == 1
    assert any("input.duration" in line for line in lines)
    assert any("Invalid request" in line for line in lines)


def test_unreadable_request_files_exit_1(sandbox_base: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file and broken JSON are invalid requests too."""
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert submit(capsys, str(tmp_path / "missing.json"), "--base-url", sandbox_base)[0] == 1
    assert submit(capsys, str(broken), "--base-url", sandbox_base)[0] == 1


def test_usage_errors_exit_2(request_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No request at all, or a scenario for a real provider."""
    assert submit(capsys)[0] == 2
    code, _, err = submit(capsys, str(request_file), "--provider", "gateway", "--base-url", "https://g.invalid/v1",
                          "--rehearse", "slow")
    assert code == 2 and "sandbox" in err
    with pytest.raises(SystemExit) as caught:
        main(["submit", str(request_file), "--provider", "nowhere"])
    assert caught.value.code == 2


def test_a_real_provider_without_a_key_is_a_usage_error(request_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """DashScope with no DASHSCOPE_API_KEY says which variable to set; nothing is sent."""
    with pytest.raises(SystemExit) as caught:
        main(["submit", str(request_file), "--provider", "dashscope"])
    assert caught.value.code == 2 and "DASHSCOPE_API_KEY" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("scenario", "extra", "code", "guidance"),
    [
        ("invalid_key", (), 3, "API key refused"),
        ("wrong_endpoint", ("--wire", "gateway"), 3, "invalid api type"),
        ("task_failed", (), 4, "content inspection"),
        ("expired", ("--wire", "gateway"), 4, "Result expired"),
        ("slow", ("--deadline", "0.3"), 5, "Deadline passed"),
    ],
)
def test_failures_print_guidance_and_their_exit_code(
    sandbox_base: str, request_file: Path, capsys: pytest.CaptureFixture[str],
    scenario: str, extra: tuple[str, ...], code: int, guidance: str,
) -> None:
    """Refused 3, task failed 4, deadline 5: each with the matching guidance."""
    got, lines, _ = submit(capsys, str(request_file), "--base-url", sandbox_base, "--wait", "--rehearse", scenario,
                           *extra)
    assert code == got
    text = "\n".join(lines)
    assert guidance in text and "How to fix it:" in text and "What the playground did:" in text


def test_an_unreachable_provider_exits_6(request_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Connection refused after the table's attempts: 'could not connect' and exit 6."""
    code, lines, _ = submit(capsys, str(request_file), "--base-url", f"http://127.0.0.1:{closed_port()}/sandbox",
                            "--wait")
    assert code == 6 and any("Could not connect" in line for line in lines)


def test_without_wait_it_stops_at_queued_and_resume_finishes(sandbox_base: str, request_file: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Submit only, then --resume RUN_ID downloads the video."""
    code, lines, _ = submit(capsys, str(request_file), "--base-url", sandbox_base)
    assert code == 0 and "--resume" in lines[-1]
    run_id = lines[-1].rsplit(" ", 1)[-1]
    code, lines, _ = submit(capsys, "--resume", run_id)
    assert code == 0 and Path(lines[-1]).is_file()
    code, lines, _ = submit(capsys, "--resume")
    assert code == 0 and "nothing to resume" in lines[-1]


def test_recover_follows_a_task_id(sandbox_base: str, request_file: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """--recover TASK_ID makes a run for a task the ledger did not know, and only one."""
    code, lines, _ = submit(capsys, str(request_file), "--base-url", sandbox_base, "--wait")
    ledger = Ledger(ledger_path(tmp_path / "data"))
    task_id = ledger.runs()[0].task_id
    assert task_id
    # As for a task submitted from another machine: this ledger has never seen it.
    for part in ledger.path.parent.glob(ledger.path.name + "*"):
        part.unlink()
    code, lines, _ = submit(capsys, "--recover", task_id, "--base-url", sandbox_base)
    assert code == 0 and Path(lines[-1]).is_file()
    ledger = Ledger(ledger_path(tmp_path / "data"))
    assert len(ledger.runs()) == 1
    code, lines, _ = submit(capsys, "--recover", task_id, "--base-url", sandbox_base)
    assert code == 0 and len(ledger.runs()) == 1, "recovering it again adds no second run"


@pytest.mark.parametrize(
    ("state", "code"),
    [("succeeded", 0), ("invalid", 1), ("refused", 3), ("failed", 4), ("unknown", 4), ("expired", 4),
     ("deadline", 5), ("outcome_unknown", 5), ("unreachable", 6), ("stalled", 6)],
)
def test_exit_codes_follow_the_last_state(state: str, code: int) -> None:
    """The README's table, as code."""
    assert code == exit_code(state)
