"""Code to paste into an integration: the whole loop of one request, in bash+curl, Python and Node.

Each script submits the wire body, polls the task with a growing wait (2 s, then half as long
again each time, at most 15 s), stops on a terminal state, and saves the video to a file. On
any failure it prints the provider's own code and message and exits non-zero.

What the scripts know about the API (paths, headers, every status word, where each answer keeps
its fields) comes from :mod:`playground.core.contract`, so an exported script ends on exactly
the words the playground's own client ends on. Answers are read with a JSON parser in every
language (the bash script uses jq, or python3 without it), at the documented field paths.

The API key is never part of the text: every script reads it from an environment variable, and
these functions take no key argument at all, so a key cannot end up in an exported file by
mistake. The scripts never send the key to the video's download URL either: it is a pre-signed
storage link, and a key sent there would leak to the storage host.

Pure: the functions only build text.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from playground.core import contract
from playground.core.contract import AnswerFields, JsonPath, StatusCase
from playground.core.wire import FORMATS, WireFormat

DEFAULT_KEY_ENV: dict[WireFormat, str] = {"dashscope": "DASHSCOPE_API_KEY", "gateway": "GATEWAY_API_KEY"}
DEFAULT_OUT = "video.mp4"
FIRST_WAIT_S = 2
MAX_WAIT_S = 15
# DashScope tasks usually take 1-5 minutes; past this the script gives up (the task may still
# finish: its id is printed, so it can be looked up later).
GIVE_UP_S = 1800

_SLOT = re.compile(r"@([A-Z_]+)@")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_WHO: dict[WireFormat, str] = {"dashscope": "DashScope's native format", "gateway": "gateway format"}


def wire_json(body: Mapping[str, Any]) -> str:
    """The body as the preview shows it: two-space indented JSON, non-ASCII text kept as is."""
    return json.dumps(body, indent=2, ensure_ascii=False)


# -- what every script does, in no language yet ---------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """The facts one exported script is built from; the same for all three languages."""

    who: str
    key_env: str
    base: str
    out: str
    create_path: str
    task_prefix: str
    create_headers: Mapping[str, str]
    success: tuple[str, ...]
    failure: tuple[str, ...]
    case: StatusCase
    fields: AnswerFields


def _plan(fmt: WireFormat, base_url: str, key_env: str | None, out: str) -> _Plan:
    if fmt not in FORMATS:
        raise ValueError(f"unknown wire format {fmt!r}; use 'gateway' or 'dashscope'")
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"base_url must be an http(s) URL, not {base_url[:60]!r}")
    env = key_env or DEFAULT_KEY_ENV[fmt]
    if not _ENV_NAME.match(env):
        raise ValueError(f"{env[:40]!r} is not an environment variable name")
    endpoints = contract.ENDPOINTS[fmt]
    return _Plan(
        who=_WHO[fmt],
        key_env=env,
        base=base_url.rstrip("/"),
        out=out,
        create_path=endpoints.create,
        task_prefix=endpoints.task_prefix(),
        create_headers=contract.CREATE_HEADERS[fmt],
        success=contract.success_words(fmt),
        failure=contract.failure_words(fmt),
        case=contract.STATUS_CASE[fmt],
        fields=contract.ANSWER_FIELDS[fmt],
    )


def _paths_json(paths: Sequence[JsonPath]) -> str:
    # Compact JSON: a valid Python and JavaScript literal as it stands, and one shell word once
    # quoted.
    return json.dumps([list(p) for p in paths], separators=(",", ":"))


@dataclass(frozen=True)
class _Quoting:
    """How one language writes the plan's values into its source."""

    string: Callable[[str], str]  # a string literal
    json: Callable[[str], str]  # a compact JSON text as a literal holding that value
    words: Callable[[Sequence[str]], str]  # a list of status words
    headers: Callable[[Mapping[str, str]], str]  # extra headers of the create call


def _plan_slots(plan: _Plan, quoting: _Quoting) -> dict[str, str]:
    """The template slots every language fills from the plan, each in its own quoting."""
    fields = plan.fields
    return {
        "WHO": plan.who,
        "KEY_ENV": plan.key_env,
        "BASE_URL": quoting.string(plan.base),
        "OUT": quoting.string(plan.out),
        "FIRST": str(FIRST_WAIT_S),
        "MAX": str(MAX_WAIT_S),
        "GIVE_UP": str(GIVE_UP_S),
        "CREATE_PATH": plan.create_path,
        "TASK_PATH": plan.task_prefix,
        "AUTH_HEADER": contract.AUTHORIZATION,
        "BEARER": contract.BEARER,
        "CREATE_HEADERS": quoting.headers(plan.create_headers),
        "CASE": plan.case,
        "SUCCESS": quoting.words(plan.success),
        "FAILURE": quoting.words(plan.failure),
        "TASK_ID_AT": quoting.json(_paths_json(fields.task_id)),
        "STATUS_AT": quoting.json(_paths_json(fields.status)),
        "VIDEO_URL_AT": quoting.json(_paths_json(fields.video_url)),
        "ERROR_CODE_AT": quoting.json(_paths_json(fields.error_code)),
        "ERROR_MESSAGE_AT": quoting.json(_paths_json(fields.error_message)),
    }


def _fill(template: str, values: Mapping[str, str]) -> str:
    # One pass over the template, not str.format (the templates are full of braces) and not one
    # replace per name (a prompt that happens to contain "@OUT@" must come through untouched).
    return _SLOT.sub(lambda m: values[m.group(1)], template)


def _json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _json_headers(headers: Mapping[str, str]) -> str:
    # Appended inside an object literal that already holds the Authorization header.
    return "".join(f", {_json_string(k)}: {_json_string(v)}" for k, v in headers.items())


# Python and JavaScript write strings, lists and objects alike: JSON is a literal in both.
_JSON_QUOTING = _Quoting(
    string=_json_string,
    json=lambda text: text,
    words=lambda words: json.dumps(list(words)),
    headers=_json_headers,
)
_SHELL_QUOTING = _Quoting(
    string=shlex.quote,
    json=shlex.quote,
    # A case pattern: word|word|word.
    words=lambda words: "|".join(shlex.quote(w) for w in words),
    headers=lambda headers: "".join(f"  -H {shlex.quote(f'{k}: {v}')} \\\n" for k, v in headers.items()),
)

# -- reading a JSON answer at a path: Python's version, shared by the bash and Python scripts ------

_PICK_PY = '''def pick(data, paths):
    """The first non-empty string at one of the paths (lists of keys and indexes), or None."""
    for path in paths:
        value = data
        for key in path:
            if isinstance(value, dict) and isinstance(key, str):
                value = value.get(key)
            elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
                value = value[key]
            else:
                value = None
                break
        if isinstance(value, str) and value:
            return value
    return None
'''
# The bash script's python3 fallback: the same function over stdin, paths as its argument.
_PICK_PY_MAIN = "import json, sys\n\n\n" + _PICK_PY + '''

try:
    answer = json.loads(sys.stdin.buffer.read())
except (ValueError, RecursionError):
    answer = None
found = pick(answer, json.loads(sys.argv[1]))
if found:
    sys.stdout.buffer.write(found.encode("utf-8", "replace"))
'''
# jq's version of the same reading: exactly one JSON value, else nothing.
_PICK_JQ = (
    'if length == 1 then .[0] | first($paths[] as $p | (try getpath($p) catch null) '
    '| select(type == "string" and . != "")) else empty end'
)


# -- bash + curl --------------------------------------------------------------------------------

_CURL = r"""#!/usr/bin/env bash
# Wan 2.7 video (@WHO@): submit the request below, wait for the task, save the video.
# Needs bash, curl, and jq or python3: the API's answers are read with a real JSON parser (jq
# when it is installed, else python3), each field at the path the API documents.
# Put your API key in @KEY_ENV@ first:
#   export @KEY_ENV@=...
set -euo pipefail

BASE_URL=@BASE_URL@
OUT=@OUT@
: "${@KEY_ENV@:?set @KEY_ENV@ to your API key first}"

# The request body, exactly as the playground showed it; edit it here.
IFS= read -r -d '' REQUEST_BODY <<'@EOF@' || true
@BODY@
@EOF@
REQUEST_BODY=${REQUEST_BODY%$'\n'}  # the heredoc adds a final newline; send the body as shown

# Where the answers keep each field: JSON paths (keys and list indexes), tried in order.
TASK_ID_AT=@TASK_ID_AT@
STATUS_AT=@STATUS_AT@
VIDEO_URL_AT=@VIDEO_URL_AT@
ERROR_CODE_AT=@ERROR_CODE_AT@
ERROR_MESSAGE_AT=@ERROR_MESSAGE_AT@

# json_pick PATHS JSON: the first non-empty string at one of PATHS in the JSON text; nothing
# when none holds one, or when the text is not JSON. The same reading in jq and in python3:
PICK_JQ=@PICK_JQ@
PICK_PY=@PICK_PY@
if command -v jq >/dev/null 2>&1; then
  json_pick() { printf '%s' "$2" | jq -rs --argjson paths "$1" "$PICK_JQ" 2>/dev/null || true; }
elif command -v python3 >/dev/null 2>&1; then
  json_pick() { printf '%s' "$2" | python3 -c "$PICK_PY" "$1" 2>/dev/null || true; }
else
  echo "error: this script reads the API's JSON answers with jq or python3; install either" >&2
  exit 1
fi

# fail WHAT ANSWER: print what went wrong with the provider's code and message, then stop.
fail() {
  local code message
  code=$(json_pick "$ERROR_CODE_AT" "$2")
  message=$(json_pick "$ERROR_MESSAGE_AT" "$2")
  echo "error: $1: ${code:-(no code)}: ${message:-$2}" >&2
  exit 1
}

# call CURL-ARGS...: run curl; the answer's body goes to $body and its HTTP status to $http.
call() {
  local answer
  answer=$(curl -sS -w '\n%{http_code}' "$@")
  http=${answer##*$'\n'}
  body=${answer%$'\n'*}
}

# 1. Submit. Never retried automatically: if the answer is lost the task may exist anyway, and
#    a second submit would create (and bill) a second video.
call -X POST "$BASE_URL@CREATE_PATH@" \
  -H "@AUTH_HEADER@: @BEARER@ ${@KEY_ENV@}" \
  -H 'Content-Type: application/json' \
@CREATE_HEADERS@  --data-binary "$REQUEST_BODY"
if [[ $http != 2?? ]]; then fail "the request was refused (HTTP $http)" "$body"; fi
task_id=$(json_pick "$TASK_ID_AT" "$body")
if [[ -z $task_id ]]; then fail "the answer names no task id" "$body"; fi
echo "task $task_id submitted" >&2

# 2. Poll until the task ends: first after @FIRST@ s, then half as long again each time, at most
#    @MAX@ s. A rate limit or server error on a status check is only a reason to ask again.
#    Status words are compared in @CASE@ case, the case the API's own table uses.
wait_s=@FIRST@
while :; do
  sleep "$wait_s"
  call "$BASE_URL@TASK_PATH@$task_id" -H "@AUTH_HEADER@: @BEARER@ ${@KEY_ENV@}"
  if [[ $http == 429 || $http == 5?? ]]; then
    echo "status check answered HTTP $http; asking again" >&2
  elif [[ $http != 2?? ]]; then
    fail "the status check of task $task_id was refused (HTTP $http)" "$body"
  else
    state=$(json_pick "$STATUS_AT" "$body")
    echo "task $task_id: ${state:-(no status)} after ${SECONDS} s" >&2
    case $(printf '%s' "$state" | @FOLD@) in
      @SUCCESS@) break ;;
      @FAILURE@) fail "task $task_id ended $state" "$body" ;;
    esac
  fi
  if (( SECONDS > @GIVE_UP@ )); then
    echo "error: task $task_id still running after @GIVE_UP@ s; check it later by its id" >&2
    exit 1
  fi
  wait_s=$(( wait_s * 3 / 2 ))
  if (( wait_s > @MAX@ )); then wait_s=@MAX@; fi
done

# 3. Download. The link is pre-signed and expires (24 h on DashScope): no key is sent to it.
video_url=$(json_pick "$VIDEO_URL_AT" "$body")
if [[ -z $video_url ]]; then fail "task $task_id succeeded but names no video URL" "$body"; fi
curl -sS --fail -L -o "$OUT" "$video_url"
echo "saved $OUT"
"""
_TR_FOLD: dict[StatusCase, str] = {"upper": "tr '[:lower:]' '[:upper:]'", "lower": "tr '[:upper:]' '[:lower:]'"}


def _heredoc_tag(text: str) -> str:
    # The terminator must not occur as a line of the body (it cannot in indented JSON, but a
    # delimiter that is checked costs nothing).
    tag = "JSON"
    lines = set(text.splitlines())
    while tag in lines:
        tag += "_END"
    return tag


def curl_script(
    body: Mapping[str, Any],
    fmt: WireFormat,
    base_url: str,
    *,
    key_env: str | None = None,
    out: str = DEFAULT_OUT,
) -> str:
    """A bash script (curl, and jq or python3 to read the answers) that runs the request to a saved video."""
    plan = _plan(fmt, base_url, key_env, out)
    text = wire_json(body)
    return _fill(
        _CURL,
        {
            **_plan_slots(plan, _SHELL_QUOTING),
            "EOF": _heredoc_tag(text),
            "BODY": text,
            "PICK_JQ": shlex.quote(_PICK_JQ),
            "PICK_PY": shlex.quote(_PICK_PY_MAIN),
            "FOLD": _TR_FOLD[plan.case],
        },
    )


# -- Python -------------------------------------------------------------------------------------

_PYTHON = '''#!/usr/bin/env python3
"""Wan 2.7 video (@WHO@): submit the request below, wait for the task, save the video.

Needs Python 3.8+ and httpx (pip install httpx). Put your API key in @KEY_ENV@ first.
"""

import os
import sys
import time
from typing import NoReturn

import httpx

BASE_URL = @BASE_URL@
API_KEY_ENV = "@KEY_ENV@"
OUT = @OUT@
FIRST_WAIT_S = @FIRST@.0
MAX_WAIT_S = @MAX@.0
GIVE_UP_S = @GIVE_UP@.0

# The request body the playground showed; edit it here.
REQUEST_BODY = @BODY@

# Status words that end the task, compared in @CASE@ case (the case the API's table uses).
SUCCESS = @SUCCESS@
FAILURE = @FAILURE@

# Where the answers keep each field: JSON paths (keys and list indexes), tried in order.
TASK_ID_AT = @TASK_ID_AT@
STATUS_AT = @STATUS_AT@
VIDEO_URL_AT = @VIDEO_URL_AT@
ERROR_CODE_AT = @ERROR_CODE_AT@
ERROR_MESSAGE_AT = @ERROR_MESSAGE_AT@


@PICK_PY@

def read_json(answer: httpx.Response) -> object:
    """The answer's JSON, or None when it is not JSON."""
    try:
        return answer.json()
    except ValueError:
        return None


def fail(what: str, answer: "httpx.Response | None" = None) -> NoReturn:
    """Print what went wrong, with the provider's own code and message, and stop."""
    detail = ""
    if answer is not None:
        data = read_json(answer)
        code, message = pick(data, ERROR_CODE_AT), pick(data, ERROR_MESSAGE_AT)
        detail = f": {code or '(no code)'}: {message or answer.text[:500]}"
    sys.exit(f"error: {what}{detail}")


def main() -> None:
    api_key = os.getenv(API_KEY_ENV)
    if not api_key:
        sys.exit(f"error: set {API_KEY_ENV} to your API key first")
    auth = {"@AUTH_HEADER@": f"@BEARER@ {api_key}"}

    with httpx.Client(timeout=60) as client:
        # 1. Submit. Never retried automatically: if the answer is lost the task may exist
        #    anyway, and a second submit would create (and bill) a second video.
        answer = client.post(
            BASE_URL + "@CREATE_PATH@",
            json=REQUEST_BODY,
            headers={**auth@CREATE_HEADERS@},
        )
        if answer.is_error:
            fail(f"the request was refused (HTTP {answer.status_code})", answer)
        task_id = pick(read_json(answer), TASK_ID_AT)
        if not task_id:
            fail("the answer names no task id", answer)
        print(f"task {task_id} submitted", file=sys.stderr)

        # 2. Poll until the task ends: first after FIRST_WAIT_S, then half as long again each
        #    time, at most MAX_WAIT_S. A rate limit or server error on a status check is only a
        #    reason to ask again.
        started = time.monotonic()
        wait_s = FIRST_WAIT_S
        while True:
            time.sleep(wait_s)
            answer = client.get(BASE_URL + "@TASK_PATH@" + task_id, headers=auth)
            if answer.status_code == 429 or answer.status_code >= 500:
                print(f"status check answered HTTP {answer.status_code}; asking again", file=sys.stderr)
            elif answer.is_error:
                fail(f"the status check of task {task_id} was refused (HTTP {answer.status_code})", answer)
            else:
                state = pick(read_json(answer), STATUS_AT) or ""
                print(f"task {task_id}: {state or '(no status)'} after {time.monotonic() - started:.0f} s",
                      file=sys.stderr)
                if state.@CASE@() in SUCCESS:
                    break
                if state.@CASE@() in FAILURE:
                    fail(f"task {task_id} ended {state}", answer)
            if time.monotonic() - started > GIVE_UP_S:
                sys.exit(f"error: task {task_id} still running after {GIVE_UP_S:.0f} s; check it later by its id")
            wait_s = min(wait_s * 1.5, MAX_WAIT_S)

        # 3. Download. The link is pre-signed and expires (24 h on DashScope): no key is sent to it.
        video_url = pick(read_json(answer), VIDEO_URL_AT)
        if not video_url:
            fail(f"task {task_id} succeeded but names no video URL", answer)
        with client.stream("GET", video_url, follow_redirects=True) as video:
            if video.is_error:
                sys.exit(f"error: the video download answered HTTP {video.status_code}")
            with open(OUT, "wb") as file:
                for chunk in video.iter_bytes():
                    file.write(chunk)
    print(f"saved {OUT}")


if __name__ == "__main__":
    main()
'''


def python_literal(value: Any, indent: int = 0) -> str:
    """A JSON value as Python source (true/false/null become True/False/None), indented by four."""
    pad, inner = " " * indent, " " * (indent + 4)
    if isinstance(value, Mapping) and value:
        items = [f"{inner}{_py_key(k)}: {python_literal(v, indent + 4)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list | tuple) and value:
        items = [f"{inner}{python_literal(v, indent + 4)}," for v in value]
        return "[\n" + "\n".join(items) + f"\n{pad}]"
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    if value is None or isinstance(value, bool):
        return repr(value)
    # A JSON string literal is also a valid Python one with the same meaning; numbers likewise.
    return json.dumps(value, ensure_ascii=False)


def _py_key(key: object) -> str:
    return json.dumps(str(key), ensure_ascii=False)


def python_script(
    body: Mapping[str, Any],
    fmt: WireFormat,
    base_url: str,
    *,
    key_env: str | None = None,
    out: str = DEFAULT_OUT,
) -> str:
    """A Python 3 script (httpx, synchronous) that runs the request to a saved video."""
    plan = _plan(fmt, base_url, key_env, out)
    return _fill(_PYTHON, {**_plan_slots(plan, _JSON_QUOTING), "BODY": python_literal(body), "PICK_PY": _PICK_PY})


# -- JavaScript (Node 18+) ----------------------------------------------------------------------

_JAVASCRIPT = """// Wan 2.7 video (@WHO@): submit the request below, wait for the task, save the video.
// Needs Node 18+ (built-in fetch); runs as a CommonJS or an ES module. Put your API key in
// @KEY_ENV@ first:  @KEY_ENV@=... node wan27.js

const BASE_URL = @BASE_URL@;
const API_KEY_ENV = "@KEY_ENV@";
const OUT = @OUT@;
const FIRST_WAIT_S = @FIRST@;
const MAX_WAIT_S = @MAX@;
const GIVE_UP_S = @GIVE_UP@;

// The request body the playground showed; edit it here.
const requestBody = @BODY@;

// Status words that end the task, compared in @CASE@ case (the case the API's table uses).
const SUCCESS = @SUCCESS@;
const FAILURE = @FAILURE@;

// Where the answers keep each field: JSON paths (keys and list indexes), tried in order.
const TASK_ID_AT = @TASK_ID_AT@;
const STATUS_AT = @STATUS_AT@;
const VIDEO_URL_AT = @VIDEO_URL_AT@;
const ERROR_CODE_AT = @ERROR_CODE_AT@;
const ERROR_MESSAGE_AT = @ERROR_MESSAGE_AT@;

class Failure extends Error {}

const sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

// The first non-empty string at one of the paths (lists of keys and indexes), or undefined.
function pick(data, paths) {
  for (const path of paths) {
    let value = data;
    for (const key of path) {
      const isObject = value !== null && typeof value === "object" && !Array.isArray(value);
      if (typeof key === "string" && isObject && Object.hasOwn(value, key)) {
        value = value[key];
      } else if (typeof key === "number" && Array.isArray(value) && key >= 0 && key < value.length) {
        value = value[key];
      } else {
        value = undefined;
        break;
      }
    }
    if (typeof value === "string" && value) return value;
  }
  return undefined;
}

// The answer's JSON, or null when it is not JSON.
async function readJson(answer) {
  const text = await answer.text();
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// What went wrong, with the provider's own code and message.
function failure(what, data) {
  const code = pick(data, ERROR_CODE_AT) || "(no code)";
  return new Failure(`${what}: ${code}: ${pick(data, ERROR_MESSAGE_AT) || JSON.stringify(data)}`);
}

async function main() {
  const apiKey = process.env[API_KEY_ENV];
  if (!apiKey) throw new Failure(`set ${API_KEY_ENV} to your API key first`);
  const auth = { "@AUTH_HEADER@": `@BEARER@ ${apiKey}` };

  // 1. Submit. Never retried automatically: if the answer is lost the task may exist anyway,
  //    and a second submit would create (and bill) a second video.
  let answer = await fetch(BASE_URL + "@CREATE_PATH@", {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json"@CREATE_HEADERS@ },
    body: JSON.stringify(requestBody),
  });
  const created = await readJson(answer);
  if (!answer.ok) throw failure(`the request was refused (HTTP ${answer.status})`, created);
  const taskId = pick(created, TASK_ID_AT);
  if (!taskId) throw failure("the answer names no task id", created);
  console.error(`task ${taskId} submitted`);

  // 2. Poll until the task ends: first after FIRST_WAIT_S, then half as long again each time,
  //    at most MAX_WAIT_S. A rate limit or server error on a status check is only a reason to
  //    ask again.
  const started = Date.now();
  let waitS = FIRST_WAIT_S;
  let task;
  for (;;) {
    await sleep(waitS);
    answer = await fetch(BASE_URL + "@TASK_PATH@" + encodeURIComponent(taskId), { headers: auth });
    const data = await readJson(answer);
    if (answer.status === 429 || answer.status >= 500) {
      console.error(`status check answered HTTP ${answer.status}; asking again`);
    } else if (!answer.ok) {
      throw failure(`the status check of task ${taskId} was refused (HTTP ${answer.status})`, data);
    } else {
      task = data;
      const state = pick(task, STATUS_AT) || "";
      console.error(`task ${taskId}: ${state || "(no status)"} after ${Math.round((Date.now() - started) / 1000)} s`);
      if (SUCCESS.includes(state.@JS_FOLD@())) break;
      if (FAILURE.includes(state.@JS_FOLD@())) throw failure(`task ${taskId} ended ${state}`, task);
    }
    if (Date.now() - started > GIVE_UP_S * 1000) {
      throw new Failure(`task ${taskId} still running after ${GIVE_UP_S} s; check it later by its id`);
    }
    waitS = Math.min(waitS * 1.5, MAX_WAIT_S);
  }

  // 3. Download. The link is pre-signed and expires (24 h on DashScope): no key is sent to it.
  const videoUrl = pick(task, VIDEO_URL_AT);
  if (!videoUrl) throw failure(`task ${taskId} succeeded but names no video URL`, task);
  const video = await fetch(videoUrl);
  if (!video.ok) throw new Failure(`the video download answered HTTP ${video.status}`);
  const { writeFile } = await import("node:fs/promises");
  await writeFile(OUT, Buffer.from(await video.arrayBuffer()));
  console.log(`saved ${OUT}`);
}

main().catch((error) => {
  console.error(`error: ${error instanceof Failure ? error.message : error}`);
  process.exitCode = 1;
});
"""
_JS_FOLD: dict[StatusCase, str] = {"upper": "toUpperCase", "lower": "toLowerCase"}


def javascript_script(
    body: Mapping[str, Any],
    fmt: WireFormat,
    base_url: str,
    *,
    key_env: str | None = None,
    out: str = DEFAULT_OUT,
) -> str:
    """A Node 18+ script (built-in fetch) that runs the request to a saved video."""
    plan = _plan(fmt, base_url, key_env, out)
    # JSON is valid JavaScript (since ES2019 even with U+2028 in strings).
    slots = {**_plan_slots(plan, _JSON_QUOTING), "BODY": wire_json(body), "JS_FOLD": _JS_FOLD[plan.case]}
    return _fill(_JAVASCRIPT, slots)
