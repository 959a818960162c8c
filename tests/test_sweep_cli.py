"""`python -m playground sweep`: the grid, --dry-run, the summary files, every exit code, --resume."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from playground.cli import main
from playground.client.ledger import Ledger
from playground.client.ledger_location import ledger_path
from tests.fixtures_client import T2V
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("cli_environment")


def sweep(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["sweep", *args])
    out, err = capsys.readouterr()
    return code, out, err


def ledger_of(tmp_path: Path) -> Ledger:
    return Ledger(ledger_path(tmp_path / "data"))


def summary(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "summary.json").read_text())
    return data


def test_dry_run_prints_every_wire_body_and_the_total_and_sends_nothing(
        request_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = sweep(capsys, str(request_file), "--vary", "resolution=720P,1080P", "--vary", "seed=1,2,3",
                         "--dry-run")
    assert code == 0
    assert "variations: 6 (2 resolution × 3 seed), 6 valid, 0 invalid" in out
    bodies = [json.loads(block) for block in _json_blocks(out)]
    # The sandbox's own format is DashScope's.
    assert [(b["parameters"]["resolution"], b["parameters"]["seed"]) for b in bodies] == [
        (r, s) for r in ("720P", "1080P") for s in (1, 2, 3)]
    assert all(b["model"] == "wan2.7-t2v" and b["input"]["prompt"] == T2V["input"]["prompt"] for b in bodies)
    # 3 x 2 s at 720P (0.10/s) + 3 x 2 s at 1080P (0.15/s), as DashScope would bill them.
    assert "quote: 6 requests: would cost 12 s billed in all = USD 1.50" in out
    assert "embedded sandbox" not in out and not (tmp_path / "data").exists()  # nothing started, nothing sent


def test_an_invalid_variation_exits_1_names_its_field_and_sends_nothing(
        request_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = sweep(capsys, str(request_file), "--vary", "duration=2,99", "--seeds", "2")
    assert code == 1
    assert "[2] duration=99 · seed=" in out and "parameters.duration: 99 is above 15" in out
    assert "2 of 4 variations are invalid; nothing was sent" in err
    assert "embedded sandbox" not in out and not ledger_path(tmp_path / "data").exists()


@pytest.mark.parametrize(("args", "words"), [
    (["--vary", "colour=red,blue"], "colour: text-to-video cannot vary this field; use one of seed, prompt"),
    (["--seeds", "17"], "17 requests, over the limit of 16 (PLAYGROUND_MAX_VARIATIONS)"),
    (["--vary", "duration=two"], "duration: 'two' is not a whole number"),
    (["--vary", "seed"], "write FIELD=V1,V2,..."),
    ([], "nothing varies"),
    (["--fill", "animal=cat"], "prompt: the template has no {name} placeholder"),
])
def test_a_bad_axis_is_a_usage_error_naming_the_fix(request_file: Path, args: list[str], words: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = sweep(capsys, str(request_file), *args)
    assert code == 2 and words in err and "Traceback" not in err


def test_every_variation_succeeds_exit_0_with_the_summary_files(
        request_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No --base-url: the sandbox is embedded, as for submit."""
    out_dir = tmp_path / "sweep"
    code, out, _ = sweep(capsys, str(request_file), "--vary", "resolution=720P,1080P", "--seeds", "2",
                         "--out", str(out_dir))
    assert code == 0, out
    assert "embedded sandbox at http://127.0.0.1:" in out and "4 succeeded, 0 did not" in out
    data = summary(out_dir)
    assert [i["state"] for i in data["items"]] == ["succeeded"] * 4 and data["provider"]["embedded"] is True
    assert "api_key" not in json.dumps(data) and "sk-" not in json.dumps(data)
    for item in data["items"]:
        width, height = (1280, 720) if item["values"]["resolution"] == "720P" else (1920, 1080)
        assert (item["width"], item["height"]) == (width, height)
        assert item["duration_s"] == pytest.approx(2, abs=0.1) and item["fps"] and item["billed_seconds"] == 2
        assert Path(item["video_path"]).is_file() and item["task_id"] and item["run_id"]
    with (out_dir / "summary.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["resolution"] for r in rows] == ["720P", "720P", "1080P", "1080P"]
    assert {r["state"] for r in rows} == {"succeeded"} and rows[0]["width"] == "1280"
    batch = ledger_of(tmp_path).batch(data["batch_id"])
    assert sorted(r.run_id for r in batch) == sorted(i["run_id"] for i in data["items"])
    assert all(r.variation() == next(i["values"] for i in data["items"] if i["run_id"] == r.run_id) for r in batch)


def test_a_failed_variation_exits_4(sandbox_base: str, request_file: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = sweep(capsys, str(request_file), "--vary", "seed=1,2", "--base-url", sandbox_base,
                         "--rehearse", "task_failed", "--out", str(tmp_path / "s"))
    assert code == 4
    assert [i["state"] for i in summary(tmp_path / "s")["items"]] == ["failed", "failed"]
    assert "0 succeeded, 2 did not" in out


def test_max_cost_refuses_the_batch_before_anything_is_sent(sandbox_base: str, request_file: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = sweep(capsys, str(request_file), "--seeds", "3", "--base-url", sandbox_base, "--max-cost", "0.5")
    assert code == 1 and "the batch may cost up to USD 0.60; nothing was sent" in err
    assert not ledger_path(tmp_path / "data").exists()


def _json_blocks(out: str) -> list[str]:
    blocks, current = [], []
    for line in out.splitlines():
        if line == "{" or current:
            current.append(line)
            if line == "}":
                blocks.append("\n".join(current))
                current = []
    return blocks


# -- interrupted sweeps (a real child process) ---------------------------------------------------


def _child(tmp_path: Path, base: str, out_dir: Path, request_file: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYGROUND_", "DASHSCOPE_"))}
    env["PLAYGROUND_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.Popen(
        [sys.executable, "-m", "playground", "sweep", str(request_file), "--seeds", "3", "--concurrency", "1",
         "--base-url", base, "--out", str(out_dir), *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _when(out_dir: Path, check: Callable[[dict[str, Any]], bool]) -> Callable[[], bool]:
    def look() -> bool:
        try:
            return check(summary(out_dir))
        except (OSError, ValueError):
            return False

    return look


def test_ctrl_c_exits_130_and_no_variation_is_left_waiting(start_sandbox: Callable[..., str], request_file: Path,
                                                           tmp_path: Path) -> None:
    base = start_sandbox(delay_scale=0.5) + "/sandbox"  # a task takes seconds: Ctrl-C comes while it runs
    out_dir = tmp_path / "s"
    child = _child(tmp_path, base, out_dir, request_file)
    try:
        wait_until(_when(out_dir, lambda s: any(i["task_id"] for i in s["items"])), "a task in the summary")
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, err.decode()
    assert "interrupted" in err.decode()
    items = summary(out_dir)["items"]
    ledger = ledger_of(tmp_path)
    records = [ledger.get(i["run_id"]) for i in items]
    sent = [r for r in records if r is not None and r.task_id]
    assert len(sent) == 1  # one slot: only the first variation was ever created
    for record in records:
        if record is not None and not record.task_id:
            assert record.state == "canceled" and record.finished  # waiting runs end, nothing sent
    assert all(r is None or r.state != "waiting" for r in records)


def test_resume_finishes_the_sweep_without_resending_finished_or_unknown_outcome_ones(
        sandbox_base: str, request_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "s"
    child = _child(tmp_path, sandbox_base, out_dir, request_file)
    ledger = ledger_of(tmp_path)

    def recorded(s: dict[str, Any]) -> bool:
        return bool(s["items"][0]["task_id"]) and all(ledger.get(i["run_id"]) for i in s["items"])

    try:
        wait_until(_when(out_dir, recorded), "the first task and every run recorded")
        child.kill()  # kill -9: nothing is cancelled or cleaned up
        child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    before = summary(out_dir)["items"]
    first = ledger.get(before[0]["run_id"])
    assert first is not None and first.task_id
    # The last variation's create was cut off without an answer: its outcome is unknown.
    last = ledger.get(before[2]["run_id"])
    assert last is not None and not last.task_id
    ledger.event(last.run_id, "outcome_unknown", detail="create sent, no answer", finished=1)

    code, out, _ = sweep(capsys, "--resume", str(out_dir))
    assert code == 4, out  # one variation did not end in a video: its outcome is unknown
    after = summary(out_dir)["items"]
    assert [i["run_id"] for i in after] == [i["run_id"] for i in before]  # no variation got a new run
    assert [i["state"] for i in after] == ["succeeded", "succeeded", "outcome_unknown"]
    assert after[0]["task_id"] == first.task_id  # followed, not created again
    batch = ledger.batch(summary(out_dir)["batch_id"])
    assert len(batch) == 3 and len({r.task_id for r in batch if r.task_id}) == 2
    # Resuming a finished sweep sends nothing more.
    code, _, _ = sweep(capsys, "--resume", str(out_dir))
    assert code == 4 and len(ledger.batch(summary(out_dir)["batch_id"])) == 3


def test_resume_of_a_folder_without_a_sweep_is_a_usage_error(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = sweep(capsys, "--resume", str(tmp_path))
    assert code == 2 and "no summary.json there" in err
