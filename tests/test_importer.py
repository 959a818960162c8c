"""Pasted JSON and curl commands come back as requests, with every loose end named and no key kept."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.core.curl_parse import looks_like_curl, read_curl
from playground.core.importer import ImportResult, import_request
from playground.core.profile import load_profile

WAN = load_profile()
CANARY = "sk-canary-7f3a9c"
GATEWAY: dict[str, Any] = {
    "model": "wan-2-7-video",
    "mode": "text-to-video",
    "input": {"prompt": "A cat's hat, 猫", "duration": 5, "resolution": "720P", "aspect_ratio": "16:9"},
}
DASHSCOPE: dict[str, Any] = {
    "model": "wan2.7-i2v",
    "input": {"prompt": "The cat turns", "media": [{"type": "first_frame", "url": "https://e.com/f.png"}]},
    "parameters": {"resolution": "1080P", "duration": 8, "seed": 7, "watermark": False},
}
DASHSCOPE_URL = "https://dashscope-intl.aliyuncs.com/api/v1/services/aigc/video-generation/video-synthesis"
GATEWAY_URL = "https://gw.example.com/v1/videos/generations"


def read(text: str) -> ImportResult:
    return import_request(text, WAN)


def sq(body: dict[str, Any]) -> str:
    """The body as JSON in single quotes, the way a shell reads it back."""
    return "'" + json.dumps(body, ensure_ascii=False).replace("'", "'\\''") + "'"


def assert_no_secret(result: ImportResult, *secrets: str) -> None:
    shown = repr(result) + str(result) + "\n".join(result.lines())
    for secret in secrets:
        assert secret not in shown


# -- JSON ----------------------------------------------------------------------------------------


def test_gateway_json_is_read_into_the_request_model() -> None:
    result = read(json.dumps(GATEWAY))
    assert (result.source, result.format, result.ok) == ("json", "gateway", True)
    assert result.fields == {"mode": "text-to-video", **GATEWAY["input"]}
    assert result.request is not None and result.request.duration == 5
    assert result.message.startswith("Imported a text-to-video request (gateway format) from JSON: valid")
    assert (result.problems, result.unmapped, result.key_discarded, result.provider) == ((), (), False, None)


def test_dashscope_json_is_read_into_the_request_model() -> None:
    result = read(json.dumps(DASHSCOPE, indent=4))
    assert (result.format, result.ok) == ("dashscope", True)
    assert result.fields == {
        "mode": "image-to-video", "prompt": "The cat turns", "media": DASHSCOPE["input"]["media"],
        "resolution": "1080P", "duration": 8, "seed": 7, "watermark": False,
    }
    assert result.message.startswith("Imported an image-to-video request (DashScope format)")


def test_a_dated_model_id_is_kept() -> None:
    body = {"model": "wan2.7-t2v-2026-06-12", "input": {"prompt": "p"}}
    fields = read(json.dumps(body)).fields
    assert fields == {"mode": "text-to-video", "model_id": "wan2.7-t2v-2026-06-12", "prompt": "p"}


@pytest.mark.parametrize(
    ("body", "path", "fix"),
    [
        ({**DASHSCOPE, "parameters": {"duration": 99}}, "parameters.duration", "use 2-15"),
        ({**GATEWAY, "input": {"prompt": "p", "resolution": "720p"}}, "input.resolution", "write 720P (capital P)"),
    ],
)
def test_problems_name_the_json_path_and_the_fix(body: dict[str, Any], path: str, fix: str) -> None:
    result = read(json.dumps(body))
    assert result.request is not None and not result.ok
    assert [(f.path, f.fix) for f in result.problems] == [(path, fix)]
    assert result.problems[0].line().startswith(f"{path}: ")
    assert "1 problem" in result.message


def test_a_wrongly_typed_value_gives_the_fields_but_no_request() -> None:
    body = {**GATEWAY, "input": {"prompt": "p", "duration": "5"}}
    result = read(json.dumps(body))
    assert result.request is None
    assert result.fields == {"mode": "text-to-video", "prompt": "p", "duration": "5"}
    assert result.problems[0].path == "input.duration"
    assert "not a usable request: input.duration: must be a whole number" in result.message


def test_unknown_gateway_fields_are_reported_one_by_one_and_the_rest_imported() -> None:
    body = {
        "model": "wan-2-7-video", "mode": "image-to-video", "callback_url": "https://me/hook",
        "input": {
            "prompt": "p", "ratio": "16:9", "aspect_ratio": "16:9", "durration": 5,
            "media": [{"type": "first_frame", "url": "https://e.com/f.png", "weight": 1}],
        },
    }
    result = read(json.dumps(body))
    assert result.ok, result.lines()
    paths = [line.split(" (not imported)")[0] for line in result.unmapped]
    assert paths == ["callback_url", "input.ratio", "input.aspect_ratio", "input.durration", "input.media[0].weight"]
    by_path = dict(zip(paths, result.unmapped, strict=True))
    assert "image-to-video does not take aspect_ratio" in by_path["input.aspect_ratio"]
    assert "did you mean" in by_path["input.durration"]
    assert result.fields is not None and result.fields["media"] == [{"type": "first_frame", "url": "https://e.com/f.png"}]
    assert "5 things not imported" in result.message


def test_dashscope_extras_legacy_fields_and_sdk_noise_are_reported() -> None:
    body = json.loads(json.dumps(DASHSCOPE))
    body["input"] |= {"function": "video-synthesis", "extend_prompt": True, "img_url": "https://e.com/old.png"}
    body["parameters"] |= {"size": "1280*720", "ratio": "16:9", "fps": 30}
    body["workspace"] = "w"
    result = read(json.dumps(body))
    assert result.ok, result.lines()
    lines = {line.split(" (not imported)")[0]: line for line in result.unmapped}
    assert set(lines) == {
        "workspace", "input.function", "input.extend_prompt", "input.img_url",
        "parameters.size", "parameters.ratio", "parameters.fps",
    }
    assert "official SDK" in lines["input.function"]
    assert "2.6-era pixel size" in lines["parameters.size"]


# -- curl ------------------------------------------------------------------------------------------


def _quoted(text: str, style: str) -> str:
    if style == "single":
        return "'" + text.replace("'", "'\\''") + "'"
    if style == "double":
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")
        return f'"{escaped}"'
    escaped = text.replace("\\", "\\\\").replace("'", "\\'")  # bash's $'...', as browsers copy it
    return f"$'{escaped}'"


@pytest.mark.parametrize("flag", ["-d", "--data", "--data-raw", "--data-binary", "--data-ascii", "--json"])
@pytest.mark.parametrize("style", ["single", "double", "ansi-c"])
def test_curl_bodies_are_read_with_every_data_flag_and_quoting(flag: str, style: str) -> None:
    body = json.dumps(GATEWAY, indent=2, ensure_ascii=False)
    command = (
        f"curl -X POST {GATEWAY_URL} \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  {flag} {_quoted(body, style)}"
    )
    result = read(command)
    assert (result.source, result.format, result.ok) == ("curl", "gateway", True), result.lines()
    assert result.fields == {"mode": "text-to-video", **GATEWAY["input"]}
    assert (result.provider, result.base_url, result.api_base) == ("gateway", "https://gw.example.com/v1",
                                                                   "https://gw.example.com/v1")
    assert result.unmapped == ()


def test_a_devtools_copy_with_crlf_continuations_and_clustered_flags_is_read() -> None:
    command = (
        "$ curl -sSL -XPOST \\\r\n"
        f"  --url '{DASHSCOPE_URL}' \\\r\n"
        '  -H"X-DashScope-Async: enable" \\\r\n'
        "  -H 'content-type: application/json' \\\r\n"
        f"  --data-raw {sq(DASHSCOPE)} --compressed -o out.json | jq ."
    )
    result = read(command)
    assert (result.format, result.ok, result.provider) == ("dashscope", True, "dashscope"), result.lines()
    assert result.base_url == "https://dashscope-intl.aliyuncs.com/api/v1"
    assert result.unmapped == ("everything from '|' on (not imported): it is another shell command",)


def test_an_authorization_header_is_reported_as_discarded_and_never_kept() -> None:
    command = (
        f"curl {DASHSCOPE_URL} -H 'X-DashScope-Async: enable' "
        f'-H "Authorization: Bearer {CANARY}" -d {sq(DASHSCOPE)}'
    )
    result = read(command)
    assert result.ok and result.key_discarded
    assert any(line.startswith("Authorization header (not imported): the API key in it was discarded")
               for line in result.unmapped)
    assert "the API key in it was discarded" in result.message
    assert_no_secret(result, CANARY)


@pytest.mark.parametrize(
    "extra",
    [
        f"-u user:{CANARY}",
        f"--oauth2-bearer {CANARY}",
        f"-H 'X-Api-Key: {CANARY}'",
        f"-b 'session={CANARY}'",
    ],
)
def test_other_credentials_are_discarded_too(extra: str) -> None:
    result = read(f"curl {GATEWAY_URL} {extra} -d {sq(GATEWAY)}")
    assert result.ok and result.key_discarded
    assert_no_secret(result, CANARY)


def test_credentials_and_query_strings_in_the_url_are_dropped_unseen() -> None:
    url = f"https://me:{CANARY}@gw.example.com/v1/videos/generations?api_key={CANARY}"
    result = read(f"curl '{url}' -d {sq(GATEWAY)}")
    assert result.key_discarded and result.base_url == "https://gw.example.com/v1"
    assert len(result.unmapped) == 2
    assert_no_secret(result, CANARY)


def test_other_headers_are_named_but_their_values_never_repeated() -> None:
    result = read(
        f"curl {GATEWAY_URL} -H 'X-Trace-Id: trace-value-123' -H 'Accept: application/json' "
        f"-H 'X-Sandbox-Scenario: slow' -d {sq(GATEWAY)}"
    )
    names = [line.split(" header")[0] for line in result.unmapped]
    assert names == ["X-Trace-Id", "Accept", "X-Sandbox-Scenario"]
    assert_no_secret(result, "trace-value-123")


@pytest.mark.parametrize(
    ("url", "provider", "base_url", "api_base"),
    [
        (DASHSCOPE_URL, "dashscope", "https://dashscope-intl.aliyuncs.com/api/v1",
         "https://dashscope-intl.aliyuncs.com/api/v1"),
        ("http://127.0.0.1:7860/sandbox/api/v1/services/aigc/video-generation/video-synthesis", "sandbox",
         "http://127.0.0.1:7860/sandbox", "http://127.0.0.1:7860/sandbox/api/v1"),
        ("http://localhost:7860/sandbox/v1/videos/generations", "sandbox", "http://localhost:7860/sandbox",
         "http://localhost:7860/sandbox/v1"),
        ("https://api.apiyi.com/wan/api/v1/services/aigc/video-generation/video-synthesis/", "dashscope",
         "https://api.apiyi.com/wan/api/v1", "https://api.apiyi.com/wan/api/v1"),
        ("gw.example.com:8443/v1/videos/generations", "gateway", "http://gw.example.com:8443/v1",
         "http://gw.example.com:8443/v1"),
    ],
)
def test_the_url_gives_the_provider_and_base_url(url: str, provider: str, base_url: str, api_base: str) -> None:
    body = DASHSCOPE if "video-synthesis" in url else GATEWAY
    result = read(f"curl '{url}' -H 'X-DashScope-Async: enable' -d {sq(body)}")
    assert (result.provider, result.base_url, result.api_base) == (provider, base_url, api_base)
    assert result.ok, result.lines()


def test_an_unknown_endpoint_is_reported_and_the_body_still_read() -> None:
    result = read(f"curl https://api.example.com/v2/generate -d {sq(GATEWAY)}")
    assert result.ok and (result.provider, result.base_url) == (None, None)
    assert result.unmapped[0].startswith("the URL https://api.example.com/v2/generate (not imported): not a Wan 2.7")


def test_dashscope_without_the_async_header_is_warned_about() -> None:
    result = read(f"curl {DASHSCOPE_URL} -d {sq(DASHSCOPE)}")
    assert result.ok
    assert any(line.startswith("X-DashScope-Async: enable is missing") for line in result.unmapped)


def test_a_body_sent_to_the_other_formats_endpoint_is_a_problem() -> None:
    result = read(f"curl {GATEWAY_URL} -d {sq(DASHSCOPE)}")
    assert result.format == "dashscope" and not result.ok
    assert [f.path for f in result.problems] == ["(url)"]


def test_a_body_that_does_not_say_its_format_takes_the_urls() -> None:
    body = {"model": "wan2.7-nonexistent", "input": {"prompt": "p"}}
    result = read(f"curl {DASHSCOPE_URL} -H 'X-DashScope-Async: enable' -d {sq(body)}")
    assert result.format == "dashscope"
    assert result.problems[0].path == "model"


def test_a_get_method_is_noted() -> None:
    result = read(f"curl -X GET {GATEWAY_URL} -d {sq(GATEWAY)}")
    assert "method GET (not imported): the create endpoint takes POST" in result.unmapped


def test_a_status_query_asks_for_the_create_command() -> None:
    result = read(f"curl http://127.0.0.1:7860/sandbox/api/v1/tasks/abc-123 -H 'Authorization: Bearer {CANARY}'")
    assert result.request is None and result.key_discarded
    assert "asks for the status of task abc-123" in result.message
    assert_no_secret(result, CANARY)


# -- the curl reader on its own -------------------------------------------------------------------


def test_read_curl_gives_what_the_command_sends_and_where() -> None:
    """The tokenizer's answer before any body is read: data, headers, endpoint, notes."""
    command = read_curl(f"$ curl -sSX POST \\\n  '{DASHSCOPE_URL}' -H 'X-DashScope-Async: enable' "
                        f"-H 'Authorization: Bearer {CANARY}' --data-raw {sq(DASHSCOPE)}")
    assert (command.method, command.url_format, command.provider) == ("POST", "dashscope", "dashscope")
    assert command.api_base == command.base_url == "https://dashscope-intl.aliyuncs.com/api/v1"
    assert json.loads(command.data[0]) == DASHSCOPE
    assert command.async_header and command.key_discarded and command.status_task is None
    assert all(CANARY not in note for note in command.notes)


def test_read_curl_names_a_status_url_and_refuses_broken_quotes() -> None:
    command = read_curl("curl https://gw.example.com/v1/videos/generations/task_9")
    assert (command.status_task, command.url_format, command.api_base) == (
        "task_9", "gateway", "https://gw.example.com/v1")
    with pytest.raises(ValueError):
        read_curl("curl -d '{")


@pytest.mark.parametrize(("text", "curl"), [("curl x", True), ("  $ /usr/bin/curl.exe -d", True),
                                            ("CURL", True), ("curly", False), ('{"curl": 1}', False)])
def test_looks_like_curl(text: str, curl: bool) -> None:
    assert looks_like_curl(text) is curl


# -- garbage ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Nothing to import"),
        ("   \n\t", "Nothing to import"),
        ("curl", "sends no body"),
        ("curl -d", "sends no body"),
        (f"curl {GATEWAY_URL}", "sends no body"),
        (f"curl -X POST {GATEWAY_URL} -d '{{\"model\": 1}}", "Could not split the curl command"),
        ('curl -d "{\\"a\\": ', "Could not split"),
        (f"curl {GATEWAY_URL} -d 'model=wan&prompt=cat'", "body is not JSON"),
        (f"curl {GATEWAY_URL} -d @body.json", "reads its body from a file"),
        ("hello there", "Not JSON"),
        ('{"model": "wan-2-7-video",', "Not JSON"),
        ("[1, 2]", "is a list, not a request object"),
        ("null", "is null, not a request object"),
        ("42", "is a number"),
        ("[" * 5000 + "]" * 5000, "Not JSON"),
        ('{"input": ' * 60 + "{}" + "}" * 60, "nested too deeply"),
        ('{"model": "wan-2-7-video", "mode": "text-to-video", "input": 5}', "input: must be an object"),
        ('{"model": "wan-2-7-video", "mode": "text-to-vidoe", "input": {}}', "did you mean 'text-to-video'?"),
    ],
)
def test_garbage_gives_a_one_line_message_and_never_raises(text: str, says: str) -> None:
    result = read(text)
    assert says in result.message
    assert "\n" not in result.message
    assert result.request is None and not result.ok


PASTE_ALPHABET = st.sampled_from([*"curl -dHXu'\"$\\{}[]:,\n\t@|=/.", "curl ", "-d ", "$'", "\\\n", '{"a":'])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.text().map(lambda t: "curl " + t), st.lists(PASTE_ALPHABET).map("".join)))
def test_arbitrary_text_never_raises(text: str) -> None:
    result = read(text)
    assert isinstance(result, ImportResult) and result.message
    assert "\n" not in result.message


@settings(max_examples=100, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["model", "mode", "input", "parameters", "media", "prompt", "type", "url", "x"]), inner,
        max_size=4),
    max_leaves=15,
))
def test_arbitrary_json_never_raises(value: Any) -> None:
    result = read(json.dumps(value))
    assert result.message and "\n" not in result.message
