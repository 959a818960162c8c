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

from playground.sandbox.app import activate_sandbox, close_sandbox, create_sandbox
from playground.sandbox.config import SandboxConfig
from playground.sandbox.lock import DataDirBusy
from playground.sandbox.scenarios import HEADER as SCENARIO_HEADER
from playground.sandbox.scenarios import SCENARIOS
from playground.sandbox.serve import MOUNT, mount, serve_in_thread, standalone_app

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
