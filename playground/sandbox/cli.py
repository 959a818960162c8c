"""``python -m playground sandbox``: serve the sandbox alone, at ``http://HOST:PORT/sandbox``.

Flags override the settings (``PLAYGROUND_SANDBOX_DELAY_SCALE``, ``PLAYGROUND_DATA_DIR``, ...).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import ValidationError

from playground.core.contract import API_ROOT
from playground.core.profile import ProfileError
from playground.sandbox.config import SandboxConfig
from playground.sandbox.lock import DataDirBusy
from playground.sandbox.serve import MOUNT, standalone_app
from playground.settings import Settings

DEFAULT_PORT = 7861  # next to the playground's 7860, so both can run at once


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free)")
    parser.add_argument("--delay-scale", type=float, dest="sandbox_delay_scale", metavar="S",
                        help="multiply the artificial queue and run delays: 0 = none, 1 = realistic "
                        "(default: PLAYGROUND_SANDBOX_DELAY_SCALE, else 1)")
    parser.add_argument("--ttl-s", type=float, dest="sandbox_ttl_s", metavar="SECONDS",
                        help="how long results, uploads and tasks are kept (default 24 h)")
    parser.add_argument("--workers", type=int, dest="sandbox_workers", metavar="N", help="render workers (default 2)")
    parser.add_argument("--data-dir", type=Path, dest="data_dir", metavar="DIR",
                        help="where files are stored (under DIR/sandbox; default .playground)")
    parser.add_argument("--profile", metavar="NAME", help="constraint profile name or JSON file (default wan-2.7)")
    parser.add_argument("--public-url", dest="public_url", metavar="URL",
                        help="the sandbox's externally visible URL, ending in /sandbox (behind a proxy)")


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {
        name: getattr(args, name)
        for name in ("sandbox_delay_scale", "sandbox_ttl_s", "sandbox_workers", "data_dir", "profile")
        if getattr(args, name, None) is not None
    }
    try:
        settings = Settings(**overrides)
        config = SandboxConfig.from_settings(settings, public_base_url=args.public_url)
    except (ValidationError, ProfileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        app = standalone_app(config)
    except DataDirBusy as exc:  # another sandbox (or python app.py) resumes this dir's tasks
        print(f"error: {exc}", file=sys.stderr)
        return 1
    shown = f"http://{args.host}:{args.port}{MOUNT}"
    print(f"sandbox: DashScope {shown}{API_ROOT['dashscope']}, gateway {shown}{API_ROOT['gateway']}, docs {shown}/docs "
          f"(delay scale {config.delay_scale:g}, files in {config.store_dir})", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
