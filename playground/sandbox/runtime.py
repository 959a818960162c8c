"""One sandbox's live state, and what every route needs to read from a request.

Authentication: any non-empty Bearer key is accepted except keys starting ``sk-invalid``,
unless the config's ``accept_key`` says which keys to let in (a deployment with a login accepts
only the keys it issued); every other key gets 401 ``InvalidApiKey`` / ``invalid_api_key``.
Keys are never stored; a short hash of the key tags the tasks and temporary uploads it owns,
so one key cannot read another's tasks (as with real per-account tasks).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request

from playground.core import contract
from playground.core.problems import Problem
from playground.core.wire import Parsed, WireFormat, path_of
from playground.sandbox import errors, media_types, scenarios
from playground.sandbox.config import SandboxConfig
from playground.sandbox.errors import ApiError
from playground.sandbox.files import FileStore, Origin
from playground.sandbox.lock import DataDirLock
from playground.sandbox.oss import PolicySigner
from playground.sandbox.scenarios import Scenario, SubmitCounters
from playground.sandbox.tasks import TaskBoard

INVALID_KEY_PREFIX = "sk-invalid"
_TASK_ID_MAX = 128
_log = logging.getLogger(__name__)


class Runtime:
    """The store, the task board, the scenario counters and the upload signer of one sandbox."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        # Before the board reads the stored tasks back: only one process may resume them
        # (DataDirBusy for a second sandbox on the same data dir; lock.py).
        self.lock = DataDirLock(config.store_dir, config.data_dir)
        self.lock.acquire()
        try:
            formats = (f for limit in config.profile.media.values() for f in limit.formats)
            self.store = FileStore(config.store_dir, config.ttl_s, config.max_store_bytes, clock=config.clock,
                                   accepted=media_types.accepted(formats))
            self.board = TaskBoard(config, self.store, clock=config.clock)
        except BaseException:
            self.lock.release()
            raise
        self.counters = SubmitCounters()
        self.signer = PolicySigner()

    async def close(self) -> None:
        try:
            await self.board.close()
        finally:
            self.lock.release()


@dataclass(frozen=True)
class Caller:
    """Who is calling, and which rehearsal scenario the request asked for."""

    owner: str
    scenario: Scenario | None


def request_id(request: Request) -> str:
    rid = request.scope.get("state", {}).get("request_id")
    return rid if isinstance(rid, str) else ""


def _accepted(key: str, check: Callable[[str], bool] | None) -> bool:
    if check is None:
        return True
    try:
        return check(key) is True
    except Exception:  # a broken check must lock callers out, not let them in
        _log.exception("sandbox: the accept_key check failed; the key is refused")
        return False


def authenticate(request: Request, surface: scenarios.Surface, config: SandboxConfig) -> Caller:
    """The caller's key tag and scenario, or the refusal the request earns."""
    header = request.headers.get(contract.AUTHORIZATION, "")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != contract.BEARER.lower() or not key:
        raise errors.missing_key(config.accept_key is None)
    if key.startswith(INVALID_KEY_PREFIX):
        raise errors.invalid_key(f"(keys starting with {INVALID_KEY_PREFIX} are always refused)")
    if not _accepted(key, config.accept_key):
        raise errors.invalid_key("This sandbox accepts only the keys its server issued.")
    scenario = scenarios.parse(request.headers.get(scenarios.HEADER))
    refusal = scenarios.response_error(scenario, surface)
    if refusal is not None:
        raise refusal
    return Caller(hashlib.sha256(key.encode()).hexdigest()[:16], scenario)


async def read_json(request: Request) -> object:
    """The body as JSON; the size limit is enforced while it streams in (see app.py)."""
    raw = await request.body()
    if not raw.strip():
        raise errors.bad_body("the request body is empty; send a JSON object")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise errors.bad_body(f"the request body is not valid JSON: {str(exc)[:200]}") from None


def check_task_id(task_id: str) -> None:
    """Refuse ids no task could have (path tricks, odd characters) before looking them up."""
    well_formed = all(c.isascii() and (c.isalnum() or c in "-_") for c in task_id)
    if not task_id or len(task_id) > _TASK_ID_MAX or not well_formed:
        raise errors.bad_parameter(
            f"{task_id[:60]!r} is not a task id: ids are letters, digits, '-' and '_'",
            param="task_id", gateway_code="invalid_task_id",
        )


def refusal(parsed: Parsed, fmt: WireFormat) -> ApiError:
    """A request the validator refused: the first error's field as param, every error in the message."""
    found: list[Problem] = [p for p in parsed.all_problems() if p.severity == "error"]
    if not found:
        return errors.bad_parameter("the request is not valid")
    first = found[0]
    message = " | ".join(p.line(path_of(fmt, p.loc)) for p in found)
    head = str(first.loc[0]) if first.loc else ""
    code, gateway_code = "InvalidParameter", "invalid_parameter"
    if first.loc == ("model",) and first.message == "missing":
        code = "BadRequest.EmptyModel"
    elif first.loc == ("input",) and first.message == "missing":
        code = "BadRequest.EmptyInput"
    if head in ("model", "model_id"):
        gateway_code = "model_not_found"
        if code == "InvalidParameter" and fmt == "dashscope":
            message = f"Model not exist. {message}"
    elif head == "mode":
        gateway_code = "invalid_mode"
    return errors.bad_parameter(message, path_of(fmt, first.loc), code=code, gateway_code=gateway_code)


def sandbox_base(request: Request, config: SandboxConfig) -> str:
    """The absolute URL of the sandbox mount, from the request (or the configured public URL)."""
    if config.public_base_url:
        return config.public_base_url.rstrip("/")
    root = request.scope.get("root_path", "")
    return str(request.url.replace(path=root, query="", fragment="")).rstrip("/")


def origin_of(request: Request, config: SandboxConfig, owner: str) -> Origin:
    """What this sandbox's own file URLs look like, as seen by this request."""
    netlocs = {request.url.netloc.lower()}
    prefixes = {request.scope.get("root_path", "")}
    if config.public_base_url:
        public = urlsplit(config.public_base_url)
        netlocs.add(public.netloc.lower())
        prefixes.add(public.path.rstrip("/"))
    return Origin(frozenset(netlocs), frozenset(prefixes), owner)
