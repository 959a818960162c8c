"""Code to paste into an integration: the whole loop of one request, in bash+curl, Python and Node.

Each script submits the wire body, polls the task with a growing wait (2 s, then half as long
again each time, at most 15 s), stops on a terminal state, and saves the video to a file. On
any failure it prints the provider's own code and message and exits non-zero.

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
from collections.abc import Mapping
from typing import Any

from playground.core.wire import WireFormat

DEFAULT_KEY_ENV: dict[WireFormat, str] = {"dashscope": "DASHSCOPE_API_KEY", "gateway": "GATEWAY_API_KEY"}
DEFAULT_OUT = "video.mp4"
FIRST_WAIT_S = 2
MAX_WAIT_S = 15
# DashScope tasks usually take 1-5 minutes; past this the script gives up (the task may still
# finish: its id is printed, so it can be looked up later).
GIVE_UP_S = 1800

_SLOT = re.compile(r"@([A-Z_]+)@")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CREATE_PATH: dict[WireFormat, str] = {
    "dashscope": "/services/aigc/video-generation/video-synthesis",
    "gateway": "/videos/generations",
}
_TASK_PATH: dict[WireFormat, str] = {"dashscope": "/tasks/", "gateway": "/videos/generations/"}
_WHO: dict[WireFormat, str] = {"dashscope": "DashScope's native format", "gateway": "gateway format"}


def wire_json(body: Mapping[str, Any]) -> str:
    """The body as the preview shows it: two-space indented JSON, non-ASCII text kept as is."""
    return json.dumps(body, indent=2, ensure_ascii=False)


def _check(fmt: WireFormat, base_url: str, key_env: str | None) -> tuple[str, str]:
    if fmt not in _CREATE_PATH:
        raise ValueError(f"unknown wire format {fmt!r}; use 'gateway' or 'dashscope'")
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"base_url must be an http(s) URL, not {base_url[:60]!r}")
    env = key_env or DEFAULT_KEY_ENV[fmt]
    if not _ENV_NAME.match(env):
        raise ValueError(f"{env[:40]!r} is not an environment variable name")
    return base_url.rstrip("/"), env


def _fill(template: str, values: Mapping[str, str]) -> str:
    # One pass over the template, not str.format (the templates are full of braces) and not one
    # replace per name (a prompt that happens to contain "@OUT@" must come through untouched).
    return _SLOT.sub(lambda m: values[m.group(1)], template)


# -- bash + curl --------------------------------------------------------------------------------

_CURL = r"""#!/usr/bin/env bash
# Wan 2.7 video (@WHO@): submit the request below, wait for the task, save the video.
# Needs bash, curl, grep and sed. Put your API key in @KEY_ENV@ first:
#   export @KEY_ENV@=...
set -euo pipefail

BASE_URL=@BASE_URL_SH@
OUT=@OUT_SH@
: "${@KEY_ENV@:?set @KEY_ENV@ to your API key first}"

# The request body, exactly as the playground showed it; edit it here.
IFS= read -r -d '' REQUEST_BODY <<'@EOF@' || true
@BODY@
@EOF@
REQUEST_BODY=${REQUEST_BODY%$'\n'}  # the heredoc adds a final newline; send the body as shown

# json_field NAME TEXT: the first string value of "NAME" in TEXT. A grep, not a JSON parser;
# enough here because each field these answers are read for appears once.
json_field() {
  printf '%s' "$2" \
    | grep -oE "\"$1\"[[:space:]]*:[[:space:]]*\"([^\"\\\\]|\\\\.)*\"" \
    | sed -n '1{s/^"[^"]*"[[:space:]]*:[[:space:]]*"//; s/"$//; s/\\"/"/g; s/\\\//\//g; s/\\u0026/\&/g; p;}' \
    || true
}

# fail WHAT ANSWER: print what went wrong with the provider's code and message, then stop.
fail() {
  local code message
  code=$(json_field code "$2")
  message=$(json_field message "$2")
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
  -H "Authorization: Bearer ${@KEY_ENV@}" \
  -H 'Content-Type: application/json' \
@ASYNC_HEADER@  --data-binary "$REQUEST_BODY"
if [[ $http != 2?? ]]; then fail "the request was refused (HTTP $http)" "$body"; fi
@TASK_ID@
if [[ -z $task_id ]]; then fail "the answer names no task id" "$body"; fi
echo "task $task_id submitted" >&2

# 2. Poll until the task ends: first after @FIRST@ s, then half as long again each time, at most
#    @MAX@ s. A rate limit or server error on a status check is only a reason to ask again.
wait_s=@FIRST@
while :; do
  sleep "$wait_s"
  call "$BASE_URL@TASK_PATH@$task_id" -H "Authorization: Bearer ${@KEY_ENV@}"
  if [[ $http == 429 || $http == 5?? ]]; then
    echo "status check answered HTTP $http; asking again" >&2
  elif [[ $http != 2?? ]]; then
    fail "the status check of task $task_id was refused (HTTP $http)" "$body"
  else
    state=$(json_field @STATUS_FIELD@ "$body")
    echo "task $task_id: ${state:-(no status)} after ${SECONDS} s" >&2
    case $state in
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
video_url=$(json_field @URL_FIELD@ "$body")
if [[ -z $video_url ]]; then fail "task $task_id succeeded but names no video URL" "$body"; fi
curl -sS --fail -L -o "$OUT" "$video_url"
echo "saved $OUT"
"""


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
    """A bash script (curl, grep and sed only) that runs the request to a saved video."""
    base, env = _check(fmt, base_url, key_env)
    text = wire_json(body)
    dashscope = fmt == "dashscope"
    task_id = (
        'task_id=$(json_field task_id "$body")'
        if dashscope
        # Gateways name the id task_id (the guide page) or id (OpenAI-style task objects).
        else 'task_id=$(json_field task_id "$body")\nif [[ -z $task_id ]]; then task_id=$(json_field id "$body"); fi'
    )
    return _fill(
        _CURL,
        {
            "WHO": _WHO[fmt],
            "KEY_ENV": env,
            "BASE_URL_SH": shlex.quote(base),
            "OUT_SH": shlex.quote(out),
            "EOF": _heredoc_tag(text),
            "BODY": text,
            "CREATE_PATH": _CREATE_PATH[fmt],
            "TASK_PATH": _TASK_PATH[fmt],
            # DashScope answers a create without this header with "does not support synchronous calls".
            "ASYNC_HEADER": "  -H 'X-DashScope-Async: enable' \\\n" if dashscope else "",
            "TASK_ID": task_id,
            "STATUS_FIELD": "task_status" if dashscope else "status",
            "SUCCESS": "SUCCEEDED" if dashscope else "completed|succeeded",
            "FAILURE": "FAILED|CANCELED|UNKNOWN" if dashscope else "failed|canceled|cancelled|expired",
            "URL_FIELD": "video_url" if dashscope else "url",
            "FIRST": str(FIRST_WAIT_S),
            "MAX": str(MAX_WAIT_S),
            "GIVE_UP": str(GIVE_UP_S),
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

BASE_URL = @BASE_URL_PY@
API_KEY_ENV = "@KEY_ENV@"
OUT = @OUT_PY@
FIRST_WAIT_S = @FIRST@.0
MAX_WAIT_S = @MAX@.0
GIVE_UP_S = @GIVE_UP@.0

# The request body the playground showed; edit it here.
REQUEST_BODY = @BODY_PY@

SUCCESS = {@SUCCESS_PY@}
FAILURE = {@FAILURE_PY@}


def fail(what: str, answer: "httpx.Response | None" = None) -> NoReturn:
    """Print what went wrong, with the provider's own code and message, and stop."""
    detail = ""
    if answer is not None:
        data = read_json(answer)
        found = data.get("error") or data.get("output") or data
        found = found if isinstance(found, dict) else {}
        code, message = found.get("code"), found.get("message")
        detail = f": {code or '(no code)'}: {message or answer.text[:500]}"
    sys.exit(f"error: {what}{detail}")


def read_json(answer: httpx.Response) -> dict:
    try:
        data = answer.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def main() -> None:
    api_key = os.getenv(API_KEY_ENV)
    if not api_key:
        sys.exit(f"error: set {API_KEY_ENV} to your API key first")
    auth = {"Authorization": f"Bearer {api_key}"}

    with httpx.Client(timeout=60) as client:
        # 1. Submit. Never retried automatically: if the answer is lost the task may exist
        #    anyway, and a second submit would create (and bill) a second video.
        answer = client.post(
            BASE_URL + "@CREATE_PATH@",
            json=REQUEST_BODY,
            headers={**auth@ASYNC_HEADER_PY@},
        )
        if answer.is_error:
            fail(f"the request was refused (HTTP {answer.status_code})", answer)
        created = read_json(answer)
        task_id = @TASK_ID_PY@
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
                task = read_json(answer)
                state = @STATE_PY@
                print(f"task {task_id}: {state} after {time.monotonic() - started:.0f} s", file=sys.stderr)
                if state in SUCCESS:
                    break
                if state in FAILURE:
                    fail(f"task {task_id} ended {state}", answer)
            if time.monotonic() - started > GIVE_UP_S:
                sys.exit(f"error: task {task_id} still running after {GIVE_UP_S:.0f} s; check it later by its id")
            wait_s = min(wait_s * 1.5, MAX_WAIT_S)

        # 3. Download. The link is pre-signed and expires (24 h on DashScope): no key is sent to it.
        video_url = @URL_PY@
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


def _py_set(words: str) -> str:
    return ", ".join(json.dumps(w) for w in words.split("|"))


def python_script(
    body: Mapping[str, Any],
    fmt: WireFormat,
    base_url: str,
    *,
    key_env: str | None = None,
    out: str = DEFAULT_OUT,
) -> str:
    """A Python 3 script (httpx, synchronous) that runs the request to a saved video."""
    base, env = _check(fmt, base_url, key_env)
    dashscope = fmt == "dashscope"
    return _fill(
        _PYTHON,
        {
            "WHO": _WHO[fmt],
            "KEY_ENV": env,
            "BASE_URL_PY": json.dumps(base),
            "OUT_PY": json.dumps(out, ensure_ascii=False),
            "FIRST": str(FIRST_WAIT_S),
            "MAX": str(MAX_WAIT_S),
            "GIVE_UP": str(GIVE_UP_S),
            "BODY_PY": python_literal(body),
            "SUCCESS_PY": _py_set("SUCCEEDED" if dashscope else "completed|succeeded"),
            "FAILURE_PY": _py_set("FAILED|CANCELED|UNKNOWN" if dashscope else "failed|canceled|cancelled|expired"),
            "CREATE_PATH": _CREATE_PATH[fmt],
            "TASK_PATH": _TASK_PATH[fmt],
            # DashScope answers a create without this header with "does not support synchronous calls".
            "ASYNC_HEADER_PY": ', "X-DashScope-Async": "enable"' if dashscope else "",
            "TASK_ID_PY": (
                '(created.get("output") or {}).get("task_id")'
                if dashscope
                # Gateways name the id task_id (the guide page) or id (OpenAI-style task objects).
                else 'created.get("task_id") or created.get("id")'
            ),
            "STATE_PY": '(task.get("output") or {}).get("task_status")' if dashscope else 'task.get("status")',
            "URL_PY": (
                '(task.get("output") or {}).get("video_url")'
                if dashscope
                else '(task.get("result") or {}).get("url") or task.get("video_url")'
            ),
        },
    )


# -- JavaScript (Node 18+) ----------------------------------------------------------------------

_JAVASCRIPT = """// Wan 2.7 video (@WHO@): submit the request below, wait for the task, save the video.
// Needs Node 18+ (built-in fetch); runs as a CommonJS or an ES module. Put your API key in
// @KEY_ENV@ first:  @KEY_ENV@=... node wan27.js

const BASE_URL = @BASE_URL_JS@;
const API_KEY_ENV = "@KEY_ENV@";
const OUT = @OUT_JS@;
const FIRST_WAIT_S = @FIRST@;
const MAX_WAIT_S = @MAX@;
const GIVE_UP_S = @GIVE_UP@;

// The request body the playground showed; edit it here.
const requestBody = @BODY@;

const SUCCESS = [@SUCCESS_JS@];
const FAILURE = [@FAILURE_JS@];

class Failure extends Error {}

const sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

// The answer's JSON object, or {} when it is not one.
async function readJson(answer) {
  try {
    const data = JSON.parse(await answer.text());
    return data && typeof data === "object" && !Array.isArray(data) ? data : {};
  } catch {
    return {};
  }
}

// What went wrong, with the provider's own code and message.
function failure(what, data) {
  const found = data.error || data.output || data;
  return new Failure(`${what}: ${found.code || "(no code)"}: ${found.message || JSON.stringify(data)}`);
}

async function main() {
  const apiKey = process.env[API_KEY_ENV];
  if (!apiKey) throw new Failure(`set ${API_KEY_ENV} to your API key first`);
  const auth = { Authorization: `Bearer ${apiKey}` };

  // 1. Submit. Never retried automatically: if the answer is lost the task may exist anyway,
  //    and a second submit would create (and bill) a second video.
  let answer = await fetch(BASE_URL + "@CREATE_PATH@", {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json"@ASYNC_HEADER_JS@ },
    body: JSON.stringify(requestBody),
  });
  const created = await readJson(answer);
  if (!answer.ok) throw failure(`the request was refused (HTTP ${answer.status})`, created);
  const taskId = @TASK_ID_JS@;
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
      const state = @STATE_JS@;
      console.error(`task ${taskId}: ${state} after ${Math.round((Date.now() - started) / 1000)} s`);
      if (SUCCESS.includes(state)) break;
      if (FAILURE.includes(state)) throw failure(`task ${taskId} ended ${state}`, task);
    }
    if (Date.now() - started > GIVE_UP_S * 1000) {
      throw new Failure(`task ${taskId} still running after ${GIVE_UP_S} s; check it later by its id`);
    }
    waitS = Math.min(waitS * 1.5, MAX_WAIT_S);
  }

  // 3. Download. The link is pre-signed and expires (24 h on DashScope): no key is sent to it.
  const videoUrl = @URL_JS@;
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


def _js_list(words: str) -> str:
    return ", ".join(json.dumps(w) for w in words.split("|"))


def javascript_script(
    body: Mapping[str, Any],
    fmt: WireFormat,
    base_url: str,
    *,
    key_env: str | None = None,
    out: str = DEFAULT_OUT,
) -> str:
    """A Node 18+ script (built-in fetch) that runs the request to a saved video."""
    base, env = _check(fmt, base_url, key_env)
    dashscope = fmt == "dashscope"
    return _fill(
        _JAVASCRIPT,
        {
            "WHO": _WHO[fmt],
            "KEY_ENV": env,
            "BASE_URL_JS": json.dumps(base),
            "OUT_JS": json.dumps(out, ensure_ascii=False),
            "FIRST": str(FIRST_WAIT_S),
            "MAX": str(MAX_WAIT_S),
            "GIVE_UP": str(GIVE_UP_S),
            # JSON is valid JavaScript (since ES2019 even with U+2028 in strings).
            "BODY": wire_json(body),
            "SUCCESS_JS": _js_list("SUCCEEDED" if dashscope else "completed|succeeded"),
            "FAILURE_JS": _js_list("FAILED|CANCELED|UNKNOWN" if dashscope else "failed|canceled|cancelled|expired"),
            "CREATE_PATH": _CREATE_PATH[fmt],
            "TASK_PATH": _TASK_PATH[fmt],
            "ASYNC_HEADER_JS": ', "X-DashScope-Async": "enable"' if dashscope else "",
            "TASK_ID_JS": "(created.output || {}).task_id" if dashscope else "created.task_id || created.id",
            "STATE_JS": "(task.output || {}).task_status" if dashscope else "task.status",
            "URL_JS": "(task.output || {}).video_url" if dashscope else "(task.result || {}).url || task.video_url",
        },
    )
