"""Bad input to every Gradio API endpoint of the running playground (``python app.py``), via gradio_client.

Three sources. A generator reads the server's own API description (``view_api``) and, for
every parameter of every named endpoint, sends a value its component can never take (text for
a slider, a number for a text box, a list for a checkbox, an unknown choice, a string where a
file goes) with every other parameter left at its default: the answer must be an error that
starts with that parameter's name. Hand-written values of the right type but the wrong
content (huge prompts, control characters, paths, bad URLs, junk to import) must come back
as the handler's own verdict or guidance naming the field. Files that lie go through the
attach endpoints: text named .png, a 0-byte .mp4, a 100x100 picture, a 40 s video for the
edit slot, a picture over the size limit; each is refused with a warning naming the slot
and the reason, and the URL box keeps what it had.

Afterwards the server still answers /healthz and a normal preview, its log shows no crash
(only Gradio's tracebacks of the errors it was asked to show), and every run that was in the
ledger before the barrage is still there.
"""

from __future__ import annotations

import concurrent.futures
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from playground.core.profile import MODES
from playground.media.samples import make_audio, make_image, make_video
from playground.ui.forms import slots
from tests.fixtures_app import RunningApp

pytestmark = pytest.mark.slow

CONNECTION = ["sandbox", "dashscope", "", "none"]
SWITCHES = [42, True, True, False]
GENERIC = ("upstream", "raised an exception", "show_error")
# Distinct inputs sent, per source; the module's last test reports and checks the total.
SENT: dict[str, set[str]] = {}


def sent(family: str, *parts: object) -> None:
    SENT.setdefault(family, set()).add(repr(parts)[:3000])


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Good files, and files that lie about what they are."""
    folder = tmp_path_factory.mktemp("bad-media")
    liar = folder / "liar.png"
    liar.write_text("this is not a picture, it is text")
    empty = folder / "empty.mp4"
    empty.write_bytes(b"")
    clip = make_video(folder / "clip.mp4", 320, 240, 3.0)
    disguised = folder / "clip-named.png"
    disguised.write_bytes(clip.read_bytes())
    text_wav = folder / "words.wav"
    text_wav.write_text("RIFF? no, just words")
    heavy = make_image(folder / "heavy.png", 480, 480)
    with heavy.open("ab") as tail:  # a valid PNG with 21 MB of trailing bytes: over the 20 MB image limit
        tail.write(b"\0" * (21 * 1024 * 1024))
    return {
        "image": make_image(folder / "good.png", 480, 480),
        "clip": clip,
        "audio": make_audio(folder / "good.wav", 3.0),
        "liar": liar,
        "empty": empty,
        "small": make_image(folder / "small.png", 100, 100),
        "long": make_video(folder / "long.mp4", 320, 240, 40.0),
        "short": make_video(folder / "short.mp4", 320, 240, 1.0),
        "disguised": disguised,
        "text_wav": text_wav,
        "heavy": heavy,
    }


def ledger_rows(app: RunningApp) -> tuple[set[str], int]:
    """The run ids in the ledger and the number of their events, read straight from SQLite."""
    with sqlite3.connect(app.data_dir / "ledger.sqlite3") as db:
        runs = {row[0] for row in db.execute("SELECT run_id FROM runs")}
        (events,) = db.execute("SELECT COUNT(*) FROM events").fetchone()
    return runs, int(events)


@pytest.fixture(scope="module")
def before(ui_client: Client, playground_app: RunningApp) -> dict[str, Any]:
    """One finished run in the ledger, then a snapshot of the ledger and of the log's length."""
    status = ui_client.predict(*CONNECTION, "Kept through the barrage", None, 2, "720P", "16:9", *SWITCHES, "",
                            api_name="/send_text_to_video")[0]
    assert 'data-state="succeeded"' in status, status
    runs, events = ledger_rows(playground_app)
    assert runs
    return {"runs": runs, "events": events, "log_at": len(playground_app.logs())}


def call(ui_client: Client, api: str, *args: Any) -> tuple[Any, str | None, list[str]]:
    """Run an endpoint: its result (or None), the error message (or None) and the warnings it showed."""
    return outcome(ui_client.submit(*args, api_name=api))


def outcome(job: Any) -> tuple[Any, str | None, list[str]]:
    """What a submitted job ended with: its result (or None), error message (or None) and warnings."""
    result: Any = None
    error: str | None = None
    try:
        result = job.result(timeout=120)
    except AppError as exc:
        error = str(exc)
    warnings: list[str] = []
    updates = job.communicator.updates if job.communicator else None
    while updates is not None and not updates.empty():
        update = updates.get_nowait()
        log = getattr(update, "log", None)
        if log:
            warnings.append(str(log[0]))
    return result, error, warnings


def assert_clear(error: str | None, *words: str) -> None:
    assert error is not None, "expected an error"
    assert not any(w in error for w in GENERIC), error
    for word in words:
        assert word in error, (word, error)


# -- generated: a value the component can never take, for every parameter of every endpoint --------

# Values no component of that kind accepts; enum values that happen to be choices are skipped.
NEVER: dict[str, list[Any]] = {
    "Slider": ["abc", [1], {"a": 1}, True, None, 1e300, -1e300, 2.5],
    "Number": ["x", [1], True, 2**40, -1, 1.5],
    "Checkbox": ["yes", "false", 0, 1, [True], {}],
    "Textbox": [5, 1.5, True, ["a"], {"a": 1}],
    "Code": [5, ["a"], {"body": {}}, False],
    "Radio": ["no such choice", 1.5, True, ["x"], {"k": 1}, "x" * 70_000, "\x00"],
    "Dropdown": ["no such choice", 1.5, True, ["x"], {"k": 1}, "x" * 70_000, "\x00"],
    "Checkboxgroup": [["not a run"], "abc", 5, [["nested"]]],
    "File": ["abc", 5, {"path": 5}, [1]],
}
SKIPPED = {"/new_session"}  # Gradio's own
IN_FLIGHT = 6  # generated calls sent together


def baseline(api: str, parameter: dict[str, Any], media: dict[str, Path]) -> Any:
    """A value the parameter takes: its default, its example, or a small file of the slot's kind."""
    if parameter["component"] == "File":
        kind = next(s.kind for m in MODES for s in slots(m) if api == f"/attach_{m.replace('-', '_')}_{s.name}")
        upload = handle_file(str(media[{"image": "image", "video": "clip", "audio": "audio"}[kind]]))
        return [upload] if "list" in parameter["python_type"]["type"] else upload
    if parameter["parameter_has_default"]:
        return parameter["parameter_default"]
    return parameter.get("example_input")


def never_values(parameter: dict[str, Any], how_many: int, offset: int) -> list[Any]:
    pool = NEVER.get(parameter["component"], [])
    choices = parameter["type"].get("enum") or parameter["type"].get("items", {}).get("enum") or []
    # A choice of the same type is no bad value (True is one of a switch's on/off/API-default choices),
    # but True is still a bad value where the choices are numbers (Python counts True as 1).
    pool = [v for v in pool if not any(type(v) is type(c) and v == c for c in choices)]
    return [pool[(offset + i) % len(pool)] for i in range(min(how_many, len(pool)))] if pool else []


def test_every_parameter_of_every_endpoint_refuses_what_it_cannot_take(
    ui_client: Client, before: dict[str, Any], media: dict[str, Path]
) -> None:
    """The error names the parameter; no handler ran (a send starts no task, an attach stores nothing)."""
    endpoints = ui_client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    cases: list[tuple[str, str, Any, list[Any]]] = []  # endpoint, parameter, bad value, all arguments
    offset = 0
    for api, info in sorted(endpoints.items()):
        parameters = info["parameters"]
        if api in SKIPPED or not parameters:
            continue
        # The form's previews are the heart of the page: three bad values per field there, one elsewhere.
        how_many = 3 if api.startswith("/preview_") else 1
        defaults = [baseline(api, p, media) for p in parameters]
        for index, parameter in enumerate(parameters):
            for value in never_values(parameter, how_many, offset):
                offset += 1
                args = list(defaults)
                args[index] = value
                cases.append((api, parameter["parameter_name"], value, args))
    failures: list[str] = []
    # A few calls in flight at once (each is refused before any handler runs), as several
    # scripts would send them; every one is still checked on its own.
    for start in range(0, len(cases), IN_FLIGHT):
        batch = [(case, ui_client.submit(*case[3], api_name=case[0])) for case in cases[start:start + IN_FLIGHT]]
        for (api, name, value, args), job in batch:
            try:
                _, error, _ = outcome(job)
            except concurrent.futures.CancelledError:
                # gradio_client can drop a job's answer when its worker threads start late on a
                # loaded machine (the server's process_completed was received). These calls
                # change nothing, so the case is asked again, alone.
                _, error, _ = call(ui_client, api, *args)
            sent("generated from the API description", api, name, value)
            if error is None or not error.startswith(f"{name}: ") or any(w in error for w in GENERIC):
                failures.append(f"{api} {name}={value!r:.40}: {error!r:.200}")
    assert not failures, "\n".join(failures[:40])


# -- hand-written: the right type, the wrong content -------------------------------------------------

T2V = ["p", None, 5, "720P", "16:9", *SWITCHES, ""]
I2V = ["p", None, 5, "720P", *SWITCHES, "https://e.com/f.png", "", "", ""]
R2V = ["Image 1 waves", None, 5, "720P", "1:1", *SWITCHES, "https://e.com/r.png", "", "", ""]
EDIT = ["snow", None, 0, "720P", "keep source", *SWITCHES, "auto", "https://e.com/v.mp4", ""]
FORMS = {"text_to_video": T2V, "image_to_video": I2V, "reference_to_video": R2V, "video_edit": EDIT}
# (mode, {field index: value}, the path the verdict must name)
CONTENT: list[tuple[str, dict[int, Any], str]] = [
    ("text_to_video", {0: "x" * 6000}, "input.prompt"),
    ("text_to_video", {1: "n" * 600}, "input.negative_prompt"),
    ("text_to_video", {9: "file:///etc/passwd"}, "input.audio_url"),
    ("text_to_video", {9: "javascript:alert(1)"}, "input.audio_url"),
    ("text_to_video", {9: "http://"}, "input.audio_url"),
    ("text_to_video", {9: "\x00\x01\x02"}, "input.audio_url"),
    ("image_to_video", {8: "../../etc/passwd"}, "input.media[0].url"),
    ("image_to_video", {8: "data:text/html;base64,PGI+"}, "input.media[0].url"),
    ("image_to_video", {8: "", 10: ""}, "input.media"),
    ("image_to_video", {8: "https://e.com/a.png", 10: "https://e.com/c.mp4"}, "input.media"),
    ("image_to_video", {11: "\u202ehttps://e.com/a.mp3"}, "input.media[1].url"),
    ("reference_to_video", {0: ""}, "input.prompt"),
    ("reference_to_video", {2: 15, 10: "https://e.com/v.mp4"}, "parameters.duration"),
    ("reference_to_video", {9: "\n".join(f"https://e.com/{i}.png" for i in range(9))}, "input.media"),
    ("reference_to_video", {9: "gopher://e.com/key.png"}, "input.media[0].url"),  # oss:// is valid in DashScope format
    ("reference_to_video", {10: "https://e.com/v.mp4", 11: "ftp://e.com/voice.mp3"}, "input.media[1].reference_voice"),
    ("video_edit", {10: ""}, "input.media"),
    ("video_edit", {10: "x" * 70_000}, "input.media[0].url"),
    ("video_edit", {11: "\n".join(f"https://e.com/{i}.png" for i in range(5))}, "input.media"),
    ("video_edit", {10: "https://e.com/v.mp4\nhttps://e.com/w.mp4"}, "input.media"),
]


@pytest.mark.parametrize(("mode", "changes", "path"), CONTENT, ids=[f"{m}-{p}" for m, _, p in CONTENT])
def test_wrong_content_is_named_in_the_verdict(ui_client: Client, before: dict[str, Any], mode: str,
                                               changes: dict[int, Any], path: str) -> None:
    """Text fields with text that breaks a rule: the preview's verdict names the JSON path and its fix."""
    form = list(FORMS[mode])
    for index, value in changes.items():
        form[index] = value
    result, error, _ = call(ui_client, f"/preview_{mode}", "sandbox", "dashscope", *form)
    sent("hand-written content", mode, changes)
    assert error is None, error
    _, verdict, _ = result
    assert f"<code>{path}</code>" in verdict, (path, verdict[:1500])
    assert len(verdict) < 20_000, "a huge value is cut short in the verdict"


def test_a_send_that_cannot_go_says_why(ui_client: Client, before: dict[str, Any]) -> None:
    """Sends that stop before the provider: the status says so and the guidance names the field."""
    cases: list[tuple[list[Any], str, str, str]] = [
        (["sandbox", "dashscope", "", "none"], "/send_reference_to_video", "input.prompt", "R2V-no-prompt"),
        (["gateway", "gateway", "", "none"], "/send_text_to_video", "Base URL", "gateway-no-url"),
        (["sandbox", "dashscope", "ftp://files.example.com", "none"], "/send_text_to_video", "base_url", "ftp"),
        (["sandbox", "dashscope", "http://[::1", "none"], "/send_text_to_video", "base_url", "ipv6"),
        (["sandbox", "dashscope", "http://e.com/\x00", "none"], "/send_text_to_video", "base_url", "nul"),
        (["sandbox", "dashscope", "http://e.com:99999", "none"], "/send_text_to_video", "base_url", "port"),
    ]
    for connection, api, words, label in cases:
        form = (["", *R2V[1:]] if "reference" in api else T2V)
        result, error, _ = call(ui_client, api, *connection, *form)
        sent("hand-written sends", label)
        assert error is None, error
        status, guidance = result[0], result[1]
        assert 'data-state="invalid"' in status, (label, status[:500])
        assert words in guidance or words in status, (label, guidance[:800])


def test_keys_no_header_can_carry_are_refused_before_sending(ui_client: Client, before: dict[str, Any]) -> None:
    """A key with control characters, non-ASCII letters or 100 000 characters: not sent, and said so."""
    try:
        for key in ("\x00bad\nkey", "kéy", "k" * 100_000, "two words"):
            note, error, _ = call(ui_client, "/set_api_key", key, "sandbox")
            assert error is None and "never stored" in note and key not in note
            result, error, _ = call(ui_client, "/send_text_to_video", *CONNECTION, *T2V)
            sent("hand-written keys", key[:20], len(key))
            assert error is None, error
            status, guidance = result[0], result[1]
            assert 'data-state="invalid"' in status and "API key" in guidance, (status[:300], guidance[:500])
            assert key[:10] not in status + guidance
    finally:
        call(ui_client, "/set_api_key", "", "sandbox")


JUNK = [
    ("{", "Not JSON"),
    ("[" * 5000, "nested too deeply"),
    ('{"model": "wan2.7-t2v", "input": {"prompt": "\\ud800"}}', "input.prompt"),
    ('{"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "p", "\\udfff": 1}}', "surrogate"),
    ('{"model": "wan-2-7-video", "mode": "text-to-video", "input": {"duration": "5"}}', "input.duration"),
    ('{"model": "wan2.7-i2v", "input": {"media": [{"type": "first_frame", "url": 5}]}}', "input.media[0].url"),
    ('{"model": "wan-2-7-video", "mode": "karaoke", "input": {}}', "mode"),
    ("[1, 2, 3]", "not a request object"),
    ("curl 'http://[::1' -d '{'", "not JSON"),
    ("curl -X POST https://e.com/v1/videos/generations -d @/etc/passwd", "curl"),
    ("x" * 200_000, "Not JSON"),
    ("\x00\x01\x02\x1b[2J", "Not JSON"),
]


def test_junk_to_import_gets_a_report(ui_client: Client, before: dict[str, Any]) -> None:
    """Pasted junk: a report that says what is wrong (and names the path), every form left as it was."""
    for text, words in JUNK:
        for mode in FORMS:
            result, error, _ = call(ui_client, f"/import_{mode}", text)
            sent("hand-written imports", mode, text[:100], len(text))
            assert error is None, error
            report = result[0] if isinstance(result, list | tuple) else result
            assert 'class="verdict bad"' in report, (text[:60], report[:500])
            assert words in report, (text[:60], words, report[:800])
            assert len(report) < 20_000


def test_history_and_recovery_endpoints_with_nonsense(ui_client: Client, before: dict[str, Any]) -> None:
    """Run ids and task ids that are paths, junk or huge: a clear answer naming the run or the task id."""
    for run_id in ("../../etc/passwd", "x" * 100_000, "\x00\x1b", "run-' OR 1=1 --"):
        details = call(ui_client, "/run_details", run_id)[0]
        assert "No such run" in details[1]
        exported = call(ui_client, "/export_run", run_id, "json")[0]
        assert exported.startswith("# run_id: no such run")
        assert_clear(call(ui_client, "/run_bundle", run_id)[1], "runs")
        assert_clear(call(ui_client, "/load_into_form", run_id)[1], "runs")
        sent("hand-written history", run_id[:40], len(run_id))
    for task_id in ("../x", "a b", "x" * 300, "id?with=query", "..", "\x00"):
        assert_clear(call(ui_client, "/recover_task", *CONNECTION, task_id)[1], "Task id")
        sent("hand-written recovery", task_id[:40], len(task_id))
    for body in ("{nope", "[1, 2]", '"a string"'):
        assert_clear(call(ui_client, "/export_text_to_video", "sandbox", "dashscope", "", "curl", body)[1], "body")
        sent("hand-written exports", body)
    assert_clear(call(ui_client, "/export_text_to_video", "sandbox", "dashscope", "ftp://x", "curl",
                      '{"model": "wan2.7-t2v", "input": {"prompt": "p"}}')[1], "base_url")
    sent("hand-written exports", "ftp base")


# -- files that lie, through the attach endpoints ------------------------------------------------

# (endpoint, file, words the warning must hold)
LIARS: list[tuple[str, str, tuple[str, ...]]] = [
    ("/attach_image_to_video_first_frame", "liar", ("First frame", "liar.png", "not an image")),
    ("/attach_reference_to_video_first_frame", "liar", ("First frame", "liar.png", "not an image")),
    ("/attach_video_edit_video", "empty", ("Source video", "empty.mp4", "empty (0 bytes)")),
    ("/attach_image_to_video_first_clip", "empty", ("First clip", "empty.mp4", "empty (0 bytes)")),
    ("/attach_image_to_video_first_frame", "small", ("First frame", "100x100", "at least 240")),
    ("/attach_reference_to_video_reference_images", "small", ("Reference images", "100x100", "at least 240")),
    ("/attach_video_edit_reference_images", "small", ("Reference images", "100x100", "at least 240")),
    ("/attach_video_edit_video", "long", ("Source video", "40 s", "10 s maximum")),
    ("/attach_reference_to_video_reference_videos", "long", ("Reference videos", "40 s", "30 s maximum")),
    ("/attach_image_to_video_first_clip", "short", ("First clip", "shorter")),
    ("/attach_reference_to_video_reference_images", "heavy", ("Reference images", "over the 20 MB limit")),
    ("/attach_image_to_video_last_frame", "disguised", ("Last frame", "clip-named.png", "image")),
    ("/attach_text_to_video_audio_url", "text_wav", ("Soundtrack", "words.wav")),
    ("/attach_reference_to_video_reference_voice", "text_wav", ("Voice for Video 1", "words.wav")),
]


@pytest.mark.parametrize(("api", "kind", "words"), LIARS, ids=[f"{a[8:]}-{k}" for a, k, _ in LIARS])
def test_a_file_that_lies_is_not_attached(ui_client: Client, before: dict[str, Any], media: dict[str, Path],
                                         api: str, kind: str, words: tuple[str, ...]) -> None:
    """Probed, found out, refused with a warning naming the slot, the file and why; the URL box keeps its value."""
    upload = handle_file(str(media[kind]))
    files = [upload] if api.endswith(("reference_images", "reference_videos")) else upload
    result, error, warnings = call(ui_client, api, files, "https://kept.example/x", *CONNECTION)
    sent("files that lie", api, kind)
    assert error is None, error
    assert result[0] == "https://kept.example/x", result
    assert warnings, "a refused file is reported"
    assert any(all(w in warning for w in words) for warning in warnings), (words, warnings)


def test_a_file_of_the_wrong_kind_is_refused_by_type(ui_client: Client, before: dict[str, Any],
                                                     media: dict[str, Path]) -> None:
    """A sound offered as a picture, a picture as a video: refused before the handler, saying which types fit."""
    for api, kind in (("/attach_image_to_video_first_frame", "audio"), ("/attach_video_edit_video", "image"),
                      ("/attach_text_to_video_audio_url", "image")):
        _, error, _ = call(ui_client, api, handle_file(str(media[kind])), "", *CONNECTION)
        sent("files that lie", api, kind)
        assert_clear(error, "Invalid file type")


# -- afterwards ------------------------------------------------------------------------------------


def test_the_app_is_still_up_and_the_ledger_kept_everything(ui_client: Client, playground_app: RunningApp,
                                                            before: dict[str, Any]) -> None:
    """Still serving, a normal preview still valid, no crash in the log, no run lost from the ledger."""
    assert playground_app.process.poll() is None
    assert httpx.get(f"{playground_app.url}/healthz", timeout=10).status_code == 200
    body, verdict, _ = ui_client.predict("sandbox", "dashscope", *T2V, api_name="/preview_text_to_video")
    assert json.loads(body)["model"] == "wan2.7-t2v" and "Valid request" in verdict
    runs, events = ledger_rows(playground_app)
    assert before["runs"] <= runs, before["runs"] - runs
    assert events >= before["events"]
    # Gradio prints a traceback for every error it shows, the ones asked for included; any other
    # exception in the log is a crash.
    log = playground_app.logs()[before["log_at"]:]
    ends = [block.strip().splitlines() for block in log.split("Traceback (most recent call last):")[1:]]
    last = [next((ln for ln in reversed(lines) if ln and not ln.startswith((" ", "During", "The above"))), "")
            for lines in ends]
    crashes = [line for line in last if not line.startswith("gradio.exceptions.Error")]
    assert not crashes, crashes[:10]
    assert "run crashed" not in log, log[log.find("run crashed") - 2000:][:4000]


def test_the_count_of_bad_inputs() -> None:
    """The figure the README reports: distinct bad inputs sent to the UI's API, by source."""
    if not SENT:
        pytest.skip("run the whole module: the count is gathered by the tests above")
    counts = {family: len(inputs) for family, inputs in sorted(SENT.items())}
    print("ui bad inputs:", counts, "total", sum(counts.values()))
    assert sum(counts.values()) >= 200, counts
