"""``python -m playground``: validate, schema, sandbox and submit from the command line.

Each subcommand lives with the code it drives; a subcommand module exposes
``configure(parser)`` and ``run(args) -> int``. This module is where the packages meet: the
client's ``submit`` gets the sandbox it may embed from here, as the client does not import the
sandbox.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import json
import sys
from collections.abc import Iterator
from typing import Any

from playground.core.jsonfile import JsonFileError, read_request_file
from playground.core.profile import MODES, ProfileError, load_profile
from playground.core.schema import request_schema
from playground.core.wire import FORMATS, parse, to_wire
from playground.settings import Settings

EXIT_OK = 0
EXIT_INVALID = 1

# Subcommands whose code lives outside this module: name -> (module, one-line help).
_EXTERNAL = {
    "sandbox": ("playground.sandbox.cli", "serve the sandbox alone"),
    "submit": ("playground.client.cli", "run a request end to end: submit, poll, download"),
    "quote": ("playground.quote_cli", "what a request would cost: billed seconds, unit price, total"),
    "sweep": ("playground.sweep_cli", "variations of one request (seeds, prompts, parameters) run as a batch"),
}


@contextlib.contextmanager
def embedded_sandbox(settings: Settings) -> Iterator[str]:
    """A sandbox on a loopback port for as long as a command runs; yields its API base URL."""
    # FastAPI and uvicorn load only when a sandbox is embedded.
    from playground.sandbox.config import SandboxConfig
    from playground.sandbox.serve import MOUNT, serve_in_thread, standalone_app

    with serve_in_thread(standalone_app(SandboxConfig.from_settings(settings))) as root:
        yield root + MOUNT


# What each external subcommand's run() is given besides its arguments.
_WIRING: dict[str, dict[str, Any]] = {
    "submit": {"embedded_sandbox": embedded_sandbox}, "sweep": {"embedded_sandbox": embedded_sandbox},
}


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_INVALID


def run_validate(args: argparse.Namespace) -> int:
    try:
        profile = load_profile(args.profile)
    except ProfileError as exc:
        return _fail(str(exc))
    try:
        body = read_request_file(args.file)
    except JsonFileError as exc:
        return _fail(str(exc))
    parsed = parse(body, profile)
    # stderr, so stdout holds only the normalised request: errors as "path: ...", warnings as
    # "warning: path: ..." (the submit command's spelling).
    problems = parsed.all_problems()
    for problem, line in zip(problems, parsed.lines(), strict=True):
        print(f"warning: {line}" if problem.severity == "warning" else line, file=sys.stderr)
    if not parsed.ok or parsed.request is None:
        return EXIT_INVALID
    warned = sum(p.severity == "warning" for p in problems)
    if args.strict and warned:
        return _fail(f"{warned} warning{'s' * (warned != 1)}, and --strict accepts none")
    print(json.dumps(to_wire(args.format or parsed.format, parsed.request, profile), indent=2, ensure_ascii=False))
    return EXIT_OK


def run_schema(args: argparse.Namespace) -> int:
    try:
        profile = load_profile(args.profile)
    except ProfileError as exc:
        return _fail(str(exc))
    print(json.dumps(request_schema(profile, args.format, args.mode), indent=2, ensure_ascii=False))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m playground", description="Rehearse Wan 2.7 video requests.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check a request file and print it normalised")
    validate.add_argument("file", help="a JSON request in either wire format ('-' reads stdin)")
    validate.add_argument("--format", choices=FORMATS, help="format to print (default: the input's)")
    validate.add_argument("--profile", default="wan-2.7", help="profile name or JSON file (default wan-2.7)")
    validate.add_argument("--strict", action="store_true", help="exit 1 on any warning too (default: warnings pass)")
    validate.set_defaults(handler=run_validate)

    schema = commands.add_parser("schema", help="print the JSON Schema of a request")
    schema.add_argument("mode", nargs="?", choices=MODES, help="one mode (default: all four)")
    schema.add_argument("--format", choices=FORMATS, default="gateway")
    schema.add_argument("--profile", default="wan-2.7")
    schema.set_defaults(handler=run_schema)

    for name, (module_name, help_text) in _EXTERNAL.items():
        sub = commands.add_parser(name, help=help_text)
        module = importlib.import_module(module_name)
        module.configure(sub)
        sub.set_defaults(handler=functools.partial(module.run, **_WIRING.get(name, {})))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code
