"""The embedded sandbox: the Wan 2.7 video APIs offline, with real video output.

``create_sandbox(SandboxConfig)`` builds the ASGI app to mount at ``/sandbox``;
``standalone_app`` wraps it for serving alone and ``serve_in_thread`` serves an app on
loopback in a background thread. Module map: app (routing, limits, error shapes),
dashscope_routes, gateway_routes, file_routes, oss (the SDK's upload flow), tasks (queue and
runs), fair (run slots shared in turns between keys), records (tasks on disk, so they survive
a restart), render_pool and render_worker (the low-priority render processes), worker (one
render), files (the store), bindings (what a temporary upload is bound to), lock (one sandbox
per data dir), media_types (what an upload really is), shot_plan (the timed shots read from a
prompt: drawn in the video, and answered as ``sandbox_shots``, a sandbox-only field the real
services never send), scenarios, timing, bodies, errors.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playground.sandbox.app import activate_sandbox, close_sandbox, create_sandbox
    from playground.sandbox.config import SandboxConfig
    from playground.sandbox.lock import DataDirBusy
    from playground.sandbox.scenarios import HEADER as SCENARIO_HEADER
    from playground.sandbox.scenarios import SCENARIOS
    from playground.sandbox.serve import MOUNT, mount, serve_in_thread, standalone_app

# Each name above, and the module it lives in (under its own name there). Resolved on first
# use (PEP 562) rather than at import: importing this package must stay cheap, because every
# render process imports playground.sandbox.render_worker, and an eager import of app.py here
# pulled FastAPI (about 0.4 s of CPU) into every one of them.
_WHERE: dict[str, tuple[str, str]] = {
    "MOUNT": ("serve", "MOUNT"),
    "SCENARIOS": ("scenarios", "SCENARIOS"),
    "SCENARIO_HEADER": ("scenarios", "HEADER"),
    "DataDirBusy": ("lock", "DataDirBusy"),
    "SandboxConfig": ("config", "SandboxConfig"),
    "activate_sandbox": ("app", "activate_sandbox"),
    "close_sandbox": ("app", "close_sandbox"),
    "create_sandbox": ("app", "create_sandbox"),
    "mount": ("serve", "mount"),
    "serve_in_thread": ("serve", "serve_in_thread"),
    "standalone_app": ("serve", "standalone_app"),
}

__all__ = [
    "MOUNT",
    "SCENARIOS",
    "SCENARIO_HEADER",
    "DataDirBusy",
    "SandboxConfig",
    "activate_sandbox",
    "close_sandbox",
    "create_sandbox",
    "mount",
    "serve_in_thread",
    "standalone_app",
]


def __getattr__(name: str) -> Any:
    """Import a re-exported name's module on first use (AttributeError for anything else,
    so ``from playground.sandbox import timing`` still falls through to the submodule)."""
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{where[0]}"), where[1])
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
