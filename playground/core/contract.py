"""The provider contract, written down once: paths, headers, status words and answer fields.

Two wire formats reach a Wan 2.7 video task:

* ``dashscope``: Alibaba Model Studio's native API (base URL ``.../api/v1``).
* ``gateway``: the guide page's unified format, as aggregators speak it (base URL ``.../v1``).

Everything here is a fact about the providers (or about the sandbox that stands in for them),
not a choice of this playground, and each carries its source. The keys ``S1``-``S15`` and the
section numbers refer to ``shared/reference/wan27-contract.md``; "client" names the reading the
playground's client already does (``playground/client``), which is authoritative for what the
playground *understands*; "sandbox" names what the embedded sandbox *writes*.

Pure: constants and small readers over decoded JSON; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from playground.core.polling import State
from playground.core.wire import FORMATS, WireFormat

# A place in a JSON answer: object keys and list indexes, outermost first.
JsonPath = tuple[str | int, ...]

# -- endpoints --------------------------------------------------------------------------------

TASK_ID_SLOT = "{task_id}"


@dataclass(frozen=True)
class Endpoints:
    """The paths of one wire format, relative to its API base (``.../api/v1`` or ``.../v1``).

    ``task`` and ``cancel`` hold :data:`TASK_ID_SLOT` where the task id goes; use
    :meth:`task_path` and :meth:`cancel_path`, which also make the id one safe path segment.
    """

    create: str
    task: str
    cancel: str
    task_list: str | None  # GET, DashScope only
    files: str  # where local files go: DashScope's upload policy, or a gateway's file store

    def task_path(self, task_id: str) -> str:
        return self.task.replace(TASK_ID_SLOT, task_segment(task_id))

    def cancel_path(self, task_id: str) -> str:
        return self.cancel.replace(TASK_ID_SLOT, task_segment(task_id))

    def task_prefix(self) -> str:
        """What comes before the task id in a status URL (exported scripts append the id)."""
        return self.task.split(TASK_ID_SLOT)[0]


ENDPOINTS: Mapping[WireFormat, Endpoints] = {
    # S1-S5 (create, query), S7 BaseAsyncApi.cancel/list, §6.1 (GET /uploads?action=getPolicy).
    "dashscope": Endpoints(
        create="/services/aigc/video-generation/video-synthesis",
        task="/tasks/{task_id}",
        cancel="/tasks/{task_id}/cancel",
        task_list="/tasks",
        files="/uploads",
    ),
    # §4(a) (ToAPIs' real video routes, S9). The guide documents no cancel route: the client
    # tries this one and takes a refusal as "cannot cancel" (client/providers.py cancel_url).
    # The file store is the sandbox's (POST multipart field "file"; answers {"url": ...}).
    "gateway": Endpoints(
        create="/videos/generations",
        task="/videos/generations/{task_id}",
        cancel="/videos/generations/{task_id}/cancel",
        task_list=None,
        files="/files",
    ),
}

# DashScope's upload policy request: GET {base}/uploads?action=getPolicy&model=<model>; the
# oss:// URL it leads to works only with that model (§6.1, S7).
UPLOAD_POLICY_ACTION = "getPolicy"
OSS_SCHEME = "oss://"
# A temporary file is also bound to the account whose key uploaded it, lives 48 h, and the flow
# is offered in the China (Beijing) region only, with a Beijing key (§6.1).
TEMPORARY_FILE_LIFETIME_S = 48 * 3600
TEMPORARY_UPLOAD_REGION = "beijing"
# DashScope's task list filters (S7 BaseAsyncApi.list); times are UTC+8 "YYYYMMDDhhmmss".
TASK_LIST_PARAMS = ("page_no", "page_size", "status", "model_name", "start_time", "end_time")

# Where each format's API hangs off a base URL: DashScope's hosts end in /api/v1 (S1-S5); the
# sandbox mounts DashScope under /api/v1 and the gateway under /v1 (sandbox/*_routes.py PREFIX).
API_ROOT: Mapping[WireFormat, str] = {"dashscope": "/api/v1", "gateway": "/v1"}
# The sandbox's file store, relative to its mount (sandbox/file_routes.py): the gateway's files
# endpoint, where the client puts local files for a sandbox of either format.
SANDBOX_UPLOAD_PATH = API_ROOT["gateway"] + ENDPOINTS["gateway"].files
# S5, S7 (the Singapore intl host, Beijing's main host, and the workspace (MaaS) hosts).
DASHSCOPE_BASE_URLS: Mapping[str, str] = {
    "beijing": "https://dashscope.aliyuncs.com/api/v1",
    "singapore": "https://dashscope-intl.aliyuncs.com/api/v1",
}
DASHSCOPE_HOSTS = ("dashscope.aliyuncs.com", "dashscope-intl.aliyuncs.com")
MAAS_HOST_SUFFIX = ".maas.aliyuncs.com"
# Workspace hosts name their region: {WorkspaceId}.<region>.maas.aliyuncs.com (S5, S7, §6.4);
# Beijing's is cn-beijing.
BEIJING_MAAS_REGION = "cn-beijing"


def task_segment(task_id: str) -> str:
    """A task id as exactly one path segment, whoever typed it.

    '/', '?', '#' and dot segments must not steer a request that carries the key to another
    endpoint ("../x" would otherwise GET {base}/x). Every task URL the client builds goes through it.
    """
    segment = quote(task_id, safe="", errors="backslashreplace")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def is_dashscope_host(host: str) -> bool:
    """Whether a host name is one of Model Studio's own (S5, S7, §6.4)."""
    name = host.lower()
    return name in DASHSCOPE_HOSTS or name.endswith(MAAS_HOST_SUFFIX)


# -- headers ----------------------------------------------------------------------------------

AUTHORIZATION = "Authorization"  # "Bearer <key>" on every API call, both formats (S1-S5, §4(a))
BEARER = "Bearer"
# Required on DashScope's create; without it: "current user api does not support synchronous
# calls" (S5). Value "enable".
ASYNC_HEADER = "X-DashScope-Async"
# Needed when a DashScope request names oss:// files from the temporary upload (§6.1, S7).
OSS_RESOLVE_HEADER = "X-DashScope-OssResourceResolve"
ENABLE = "enable"
# The sandbox's rehearsal scenario, per request (sandbox/scenarios.py HEADER).
SCENARIO_HEADER = "X-Sandbox-Scenario"
# Poll-after hints in milliseconds, in the order the client reads them (client/answers.py
# poll_after_of); the sandbox sends the second. On a status answer, Retry-After (seconds or an
# HTTP date) means the same.
POLL_AFTER_MS_HEADERS = ("openai-poll-after-ms", "x-sandbox-poll-after-ms", "x-poll-after-ms", "poll-after-ms")
SANDBOX_POLL_AFTER_HEADER = "X-Sandbox-Poll-After-Ms"
SANDBOX_QUEUE_POSITION_HEADER = "X-Sandbox-Queue-Position"
RETRY_AFTER_HEADER = "Retry-After"
RETRY_AFTER_MS_HEADER = "retry-after-ms"
# Where a request id may travel when the body has none (client/answers.py header_request_id).
REQUEST_ID_HEADERS = ("x-request-id", "x-dashscope-request-id", "x-acs-request-id", "request-id", "x-oss-request-id")

# The headers a create call carries beyond Authorization and Content-Type.
CREATE_HEADERS: Mapping[WireFormat, Mapping[str, str]] = {
    "dashscope": {ASYNC_HEADER: ENABLE},
    "gateway": {},
}


def bearer(key: str) -> str:
    """The Authorization value for a key."""
    return f"{BEARER} {key}"


# -- status words -----------------------------------------------------------------------------

# DashScope's task_status (S1-S4, §1.5): PENDING -> RUNNING -> SUCCEEDED | FAILED, CANCELED,
# UNKNOWN (no such task, or older than 24 h). SUSPENDED is the SDK's (S7 TaskStatus), CANCELLED
# a spelling some pass-through gateways use; the client reads both (through read_state).
DASHSCOPE_STATUS: Mapping[str, State] = {
    "PENDING": "queued",
    "SUSPENDED": "queued",
    "RUNNING": "running",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "CANCELED": "canceled",
    "CANCELLED": "canceled",
    "UNKNOWN": "unknown",
}
# Gateway status words, every family the client reads (through read_state): the guide and
# ToAPIs (queued, in_progress, completed, failed; submitted, S9), APIXO (pending, processing,
# success, failed, S10), fal (IN_QUEUE, IN_PROGRESS, COMPLETED, S11), EvoLink (pending,
# processing, completed, failed, S12), and the spellings other gateways use.
GATEWAY_STATUS: Mapping[str, State] = {
    "queued": "queued",
    "submitted": "queued",
    "pending": "queued",
    "in_queue": "queued",
    "in_progress": "running",
    "processing": "running",
    "running": "running",
    "completed": "succeeded",
    "succeeded": "succeeded",
    "success": "succeeded",
    "failed": "failed",
    "failure": "failed",
    "error": "failed",
    "canceled": "canceled",
    "cancelled": "canceled",
    "unknown": "unknown",
    "expired": "unknown",
}
STATUS_WORDS: Mapping[WireFormat, Mapping[str, State]] = {"dashscope": DASHSCOPE_STATUS, "gateway": GATEWAY_STATUS}
# Providers differ in case (fal writes COMPLETED): a word is folded before it is looked up.
StatusCase = Literal["upper", "lower"]
STATUS_CASE: Mapping[WireFormat, StatusCase] = {"dashscope": "upper", "gateway": "lower"}
# A state nobody reads as the end: an unrecognised word counts as still running, so a new
# provider word costs some polls, never a run given up on a task that then succeeds.
UNRECOGNISED_STATE: State = "running"
# What a create answer means when it names no status (client/providers.py created_task).
CREATED_STATUS: Mapping[WireFormat, str] = {"dashscope": "PENDING", "gateway": "queued"}
# The words providers of each format write, per state (S1-S4; the guide's four words, S9). A
# gateway has no word for a canceled task (the sandbox writes "failed" with error code
# "canceled") nor for an unknown one (it answers HTTP 404 task_not_found).
WRITTEN_STATUS: Mapping[WireFormat, Mapping[State, str]] = {
    "dashscope": {"queued": "PENDING", "running": "RUNNING", "succeeded": "SUCCEEDED", "failed": "FAILED",
                  "canceled": "CANCELED", "unknown": "UNKNOWN"},
    "gateway": {"queued": "queued", "running": "in_progress", "succeeded": "completed", "failed": "failed",
                "canceled": "failed"},
}
GATEWAY_CANCELED_CODE = "canceled"
GATEWAY_NOT_FOUND_CODE = "task_not_found"
# DashScope keeps a task and its video_url 24 h after it ends (S1-S4 query pages).
RESULT_TTL_S = 24 * 3600


def fold_status(fmt: WireFormat, word: str) -> str:
    """A status word in the case its format's table is written in."""
    return word.upper() if STATUS_CASE[fmt] == "upper" else word.lower()


def read_state(fmt: WireFormat, word: str) -> State:
    """A provider's status word as a polling state; an unrecognised word counts as running.

    The client's only reading of a status word (client/providers.py ``read_task``).
    """
    return STATUS_WORDS[fmt].get(fold_status(fmt, word), UNRECOGNISED_STATE)


def words_for(fmt: WireFormat, states: Sequence[State]) -> tuple[str, ...]:
    """Every status word of a format that means one of ``states``, in table order."""
    return tuple(word for word, state in STATUS_WORDS[fmt].items() if state in states)


def success_words(fmt: WireFormat) -> tuple[str, ...]:
    """The words that end a task with a video."""
    return words_for(fmt, ("succeeded",))


def failure_words(fmt: WireFormat) -> tuple[str, ...]:
    """The words that end a task without one (failed, canceled, unknown or expired)."""
    return words_for(fmt, ("failed", "canceled", "unknown"))


def written_status(fmt: WireFormat, state: State) -> str | None:
    """The word a provider of this format writes for a state; None when it answers 404 instead."""
    return WRITTEN_STATUS[fmt].get(state)


# -- where answers keep things -------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerFields:
    """Where one format's answers keep each fact: JSON paths, tried in order.

    The first path that holds a non-empty string wins. The create answer and the status answer
    share the task id's paths.
    """

    task_id: tuple[JsonPath, ...]
    status: tuple[JsonPath, ...]
    video_url: tuple[JsonPath, ...]
    error_code: tuple[JsonPath, ...]
    error_message: tuple[JsonPath, ...]


# Where an answer keeps its task object, tried innermost first by the client's readers (each
# path is where a task object may stand; the first that holds one is the task).
TASK_AT: Mapping[WireFormat, tuple[JsonPath, ...]] = {
    # S1-S4 (§1.5): the task is the "output" object.
    "dashscope": (("output",),),
    # The guide's answers are the task itself; some gateways wrap it in {"code": 200, "data":
    # {...}} or, on create, in {"data": [{...}]} (ToAPIs' older pages and APIMart, S9).
    "gateway": ((), ("data",), ("data", 0)),
}
# Where a task object keeps each fact, relative to the object.
TASK_FIELDS: Mapping[WireFormat, AnswerFields] = {
    # S1-S4 (§1.5 responses, §1.6 errors).
    "dashscope": AnswerFields(
        task_id=(("task_id",),),
        status=(("task_status",),),
        video_url=(("video_url",),),
        error_code=(("code",),),
        error_message=(("message",),),
    ),
    # §4(a) (the guide's result.url and error), EvoLink's results list (S12), a bare video_url;
    # OpenAI-style task objects name the id "id" and APIXO "taskId" (S10). Errors are
    # {"error": {code|type, message}} (new-api, S14).
    "gateway": AnswerFields(
        task_id=(("task_id",), ("id",), ("taskId",)),
        status=(("status",),),
        video_url=(("result", "url"), ("results", 0), ("video_url",)),
        error_code=(("error", "code"), ("error", "type")),
        error_message=(("error", "message"),),
    ),
}
# A refused request's code and message outside any task object (§1.6; new-api and others, S14).
_REFUSAL_CODE: Mapping[WireFormat, tuple[JsonPath, ...]] = {"dashscope": (("code",),), "gateway": (("code",),)}
_REFUSAL_MESSAGE: Mapping[WireFormat, tuple[JsonPath, ...]] = {
    "dashscope": (("message",),),
    "gateway": (("message",), ("msg",), ("detail",)),
}


def _answer_fields(fmt: WireFormat) -> AnswerFields:
    task = TASK_FIELDS[fmt]

    def anywhere(paths: tuple[JsonPath, ...]) -> tuple[JsonPath, ...]:
        return tuple((*at, *path) for at in TASK_AT[fmt] for path in paths)

    return AnswerFields(
        task_id=anywhere(task.task_id),
        status=anywhere(task.status),
        video_url=anywhere(task.video_url),
        error_code=(*anywhere(task.error_code), *_REFUSAL_CODE[fmt]),
        error_message=(*anywhere(task.error_message), *_REFUSAL_MESSAGE[fmt]),
    )


# Every place a whole answer (create, status or refusal) may keep each fact, for readers that
# do not look for the task object first (the exported scripts).
ANSWER_FIELDS: Mapping[WireFormat, AnswerFields] = {fmt: _answer_fields(fmt) for fmt in FORMATS}


def task_object(fmt: WireFormat, answer: object, naming: Sequence[JsonPath] = ()) -> dict[str, Any] | None:
    """The task object of an answer: the innermost place of :data:`TASK_AT` that holds an object.

    With ``naming``, only an object holding a non-empty string at one of those paths counts (a
    status answer's task is the object that names a status). None when no place does.
    """
    for at in reversed(TASK_AT[fmt]):
        found = at_path(answer, at)
        if isinstance(found, dict) and (not naming or pick(found, naming) is not None):
            return found
    return None


def at_path(value: object, path: JsonPath) -> object:
    """What ``value`` holds at ``path``; None where the path leaves the JSON."""
    for key in path:
        if isinstance(key, str) and isinstance(value, dict):
            value = value.get(key)
        elif isinstance(key, int) and isinstance(value, list) and 0 <= key < len(value):
            value = value[key]
        else:
            return None
    return value


def pick(value: object, paths: Sequence[JsonPath]) -> str | None:
    """The first non-empty string found at one of ``paths``; None when none holds one."""
    for path in paths:
        found = at_path(value, path)
        if isinstance(found, str) and found:
            return found
    return None
