"""``python -m playground submit``: run a request end to end from the command line.

::

    python -m playground submit FILE [--provider sandbox|dashscope|gateway] [--base-url URL]
                                     [--wire gateway|dashscope] [--wait] [--out DIR]
                                     [--rehearse SCENARIO] [--deadline SECONDS] [--max-cost AMOUNT]
    python -m playground submit --resume [RUN_ID]      # finish unfinished runs from the ledger
    python -m playground submit --recover TASK_ID      # follow a task by its id

Before anything is sent, the request's quote is printed (``quote: ...``: billed seconds, unit
price, total and the reason for each number that is not obvious; in the sandbox, what DashScope
would charge). With ``--max-cost AMOUNT`` (in the region's currency) a request whose quote may
cost more, or has no price, is refused: exit 1, nothing sent. Each status change is printed on
its own line; a failure prints its guidance; the run's cost (``cost: billed ...``, or nothing
billed for a task that did not succeed) comes after; success prints the video's path last.
With the sandbox provider and no base URL, an embedded sandbox is started for the duration
of the command (so the command waits for the result); the top-level CLI
(``playground/cli.py``) supplies it, as the client does not import the sandbox.

Runs go into the data directory's one ledger (:func:`~playground.client.ledger_location.ledger_path`),
the same the UI and the server use: ``--resume`` and ``--recover`` see runs started in the
browser, and History sees runs started here.

Exit codes:

===  ===========================================================================
0    success: the video was downloaded and probed (or, without --wait, the task was created)
1    invalid request: the playground's own check refused it, or its quote passed --max-cost;
     nothing was sent
2    usage error (bad flags)
3    refused by the API (HTTP error: key, payload, rate limit after retries, wrong endpoint)
4    the task failed: FAILED / UNKNOWN / CANCELED, expired result, or an unplayable download
5    deadline passed, a create whose outcome is unknown (nothing was resubmitted), or a run the
     playground crashed on: in each the task may exist; recover it by its id
6    the provider could not be reached (connection refused, timeouts after retries)
130  interrupted (Ctrl-C); the remote task is canceled where the provider allows it
===  ===========================================================================
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import math
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from playground.client.billing import quote_body, region_of
from playground.client.billing import stored as stored_cost
from playground.client.errors import InvalidRequest
from playground.client.ledger import Ledger
from playground.client.ledger_location import open_ledger
from playground.client.providers import ProviderConfig, provider_from_settings
from playground.client.runner import RunEvent, RunOptions, provider_for, recover, resume, unfinished
from playground.client.runner import run as start_run
from playground.core.jsonfile import JsonFileError, read_request_file
from playground.core.prices import PriceError, load_prices
from playground.core.profile import Profile, ProfileError, load_profile
from playground.core.quote import Quote, money
from playground.core.run_states import RunState
from playground.core.wire import FORMATS
from playground.settings import PROVIDERS, Settings

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_TASK_FAILED = 4
EXIT_DEADLINE = 5
EXIT_UNREACHABLE = 6
EXIT_INTERRUPTED = 130
# Every other state (the in-progress ones, which a stream never ends on) exits 3.
_EXIT_FOR_STATE = {
    RunState.SUCCEEDED: EXIT_OK, RunState.QUEUED: EXIT_OK, RunState.RUNNING: EXIT_OK,
    RunState.INVALID: EXIT_INVALID, RunState.REFUSED: EXIT_REFUSED,
    RunState.FAILED: EXIT_TASK_FAILED, RunState.CANCELED: EXIT_TASK_FAILED, RunState.UNKNOWN: EXIT_TASK_FAILED,
    RunState.EXPIRED: EXIT_TASK_FAILED, RunState.DOWNLOAD_FAILED: EXIT_TASK_FAILED,
    RunState.DEADLINE: EXIT_DEADLINE, RunState.OUTCOME_UNKNOWN: EXIT_DEADLINE, RunState.CRASHED: EXIT_DEADLINE,
    RunState.UNREACHABLE: EXIT_UNREACHABLE, RunState.STALLED: EXIT_UNREACHABLE,
}
# Starts a sandbox for as long as the command runs; yields its API base URL (``.../sandbox``).
EmbeddedSandbox = Callable[[Settings], AbstractContextManager[str]]
_EACH_LINE = (RunState.VALIDATING, RunState.UPLOADING)
_WAITING = (RunState.QUEUED, RunState.RUNNING)
SCENARIOS = ("rate_limit", "server_error", "invalid_key", "task_failed", "slow", "wrong_endpoint", "expired")


def exit_code(state: str) -> int:
    """The process exit code for a run's last state."""
    known = RunState.parse(state)
    return _EXIT_FOR_STATE.get(known, EXIT_REFUSED) if known is not None else EXIT_REFUSED


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Submit a request, follow it, and download the video."
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "exit codes: 0 success, 1 invalid request, 2 usage error, 3 refused by the API, 4 task failed,\n"
        "5 deadline passed, outcome unknown or the run crashed, 6 provider unreachable, 130 interrupted"
    )
    parser.add_argument("file", nargs="?", help="a JSON request in either wire format ('-' reads stdin)")
    parser.add_argument("--provider", choices=PROVIDERS, help="where to send it (default: sandbox)")
    parser.add_argument("--base-url", help="provider base URL (sandbox: its /sandbox mount; gateway: .../v1)")
    parser.add_argument("--wire", choices=FORMATS, help="wire format to send (default: the provider's own)")
    parser.add_argument("--wait", action="store_true", help="follow the task to the end and download the video")
    parser.add_argument("--out", type=Path, help="folder for the videos (default: <data dir>/runs)")
    parser.add_argument("--rehearse", choices=SCENARIOS, metavar="SCENARIO",
                        help=f"sandbox scenario to rehearse: {', '.join(SCENARIOS)}")
    parser.add_argument("--deadline", type=float, help="give up (and cancel) after this many seconds")
    parser.add_argument("--max-cost", type=cli_amount, metavar="AMOUNT",
                        help="refuse (exit 1, nothing sent) when the quote may cost more than this, in the "
                             "region's currency (the sandbox rehearses it with DashScope's prices)")
    parser.add_argument("--data-dir", type=Path, help="ledger, downloads and sandbox files (default .playground)")
    parser.add_argument("--profile", help="constraint profile name or file (default wan-2.7)")
    parser.add_argument("--session", help="a session id to file the run under (the UI uses one per browser)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--resume", nargs="?", const="*", metavar="RUN_ID",
                       help="finish an unfinished run from the ledger (all of them without RUN_ID)")
    group.add_argument("--recover", metavar="TASK_ID", help="follow an existing task by its id")


def cli_amount(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount; give a number such as 0.50") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount; give a number of 0 or more")
    return value


def run(args: argparse.Namespace, *, embedded_sandbox: EmbeddedSandbox | None = None) -> int:
    """Run the subcommand; the exit code. ``embedded_sandbox`` starts a sandbox when the sandbox
    provider is chosen without a base URL (without it, such a command is a usage error)."""
    try:
        settings = cli_settings(args)
        profile = load_profile(args.profile or settings.profile)
        load_prices(settings.prices)  # a broken PLAYGROUND_PRICES is a usage error before anything runs
    except (ValidationError, ProfileError, PriceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.resume is None and args.recover is None and args.file is None:
        print("error: give a request FILE, --resume or --recover", file=sys.stderr)
        return EXIT_USAGE
    if args.rehearse and (args.provider or settings.provider) != "sandbox":
        print("error: --rehearse needs the sandbox provider", file=sys.stderr)
        return EXIT_USAGE
    # stamina logs each retry through the standard logging module; the lines printed here
    # already say it, so its records need not reach stderr by default.
    logging.getLogger("stamina").addHandler(logging.NullHandler())
    try:
        return asyncio.run(_main(args, settings, profile, embedded_sandbox))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def cli_settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if args.provider:
        overrides["provider"] = args.provider
    if args.base_url:
        overrides["base_url"] = args.base_url
    if args.data_dir:
        overrides["data_dir"] = args.data_dir
    base = Settings()
    return base.model_copy(update=overrides) if overrides else base


async def _main(
    args: argparse.Namespace, settings: Settings, profile: Profile, embedded_sandbox: EmbeddedSandbox | None
) -> int:
    ledger = open_ledger(settings.data_dir)
    out_dir = args.out or settings.data_dir / "runs"
    deadline = args.deadline or settings.run_deadline_s
    # The command runs on its user's own machine: local files may be read, and providers keep
    # their default host policy, which reaches any host (localhost included). A shared server
    # is what needs RunOptions(allow_local_files=False) and a strict HostPolicy.
    options = RunOptions(profile=profile, prices=load_prices(settings.prices))
    cost = _cost_printer(ledger)
    if args.resume is not None:
        return await _resume_all(args, settings, ledger, options, cost)
    with cli_provider(args, settings, embedded_sandbox) as provider:
        if args.recover is not None:
            stream = recover(args.recover, provider, ledger, out_dir, deadline_s=deadline,
                             session_id=args.session, options=options)
            return await _print_run(stream, wait=True, cost=cost)
        try:
            body = read_request_file(args.file, stdin=sys.stdin.buffer if args.file == "-" else None)
        except JsonFileError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_INVALID
        region = region_of(provider, settings.dashscope_region)
        quoted = await asyncio.to_thread(quote_body, body, profile, options.prices or load_prices(), region,
                                         fmt=provider.wire)
        refused = _print_quote(quoted, provider.kind == "sandbox", args.max_cost)
        if refused:
            return EXIT_INVALID
        options = dataclasses.replace(options, quote=quoted, region=region)
        embedded = provider.kind == "sandbox" and not (args.base_url or settings.base_url)
        wait = args.wait or embedded
        if embedded and not args.wait:
            print("note: the embedded sandbox stops with this command, so it waits for the result")
        stream = start_run(
            body, provider, ledger, out_dir, deadline_s=deadline, session_id=args.session, options=options
        )
        return await _print_run(stream, wait=wait, cost=cost)


@contextlib.contextmanager
def cli_provider(
    args: argparse.Namespace, settings: Settings, embedded_sandbox: EmbeddedSandbox | None
) -> Iterator[ProviderConfig]:
    """The provider the flags name, starting an embedded sandbox when none is given."""
    kind = settings.provider
    if kind == "sandbox" and not settings.base_url:
        if embedded_sandbox is None:
            raise SystemExit(_usage("no sandbox to embed here: give the sandbox's --base-url"))
        with embedded_sandbox(settings) as base_url:
            print(f"embedded sandbox at {base_url}")
            yield provider_from_settings(settings, kind, base_url=base_url, wire=args.wire, scenario=args.rehearse)
        return
    try:
        provider = provider_from_settings(settings, kind, wire=args.wire, scenario=args.rehearse)
    except (ValueError, ValidationError) as exc:
        raise SystemExit(_usage(str(exc))) from None
    if provider.api_key is None:
        variable = "DASHSCOPE_API_KEY" if kind == "dashscope" else "PLAYGROUND_GATEWAY_API_KEY"
        raise SystemExit(_usage(f"{kind} needs an API key: set {variable} in the environment"))
    yield provider


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


async def _resume_all(args: argparse.Namespace, settings: Settings, ledger: Ledger, options: RunOptions,
                      cost: Callable[[RunEvent], list[str]] | None = None) -> int:
    if args.resume == "*":
        records = unfinished(ledger, args.session)
        if not records:
            print("nothing to resume: every run in the ledger has ended")
            return EXIT_OK
    else:
        found = ledger.get(args.resume)
        if found is None:
            return _usage(f"no run {args.resume} in {ledger.path}")
        records = [found]
    code = EXIT_OK
    for record in records:
        provider = provider_for(record, settings)
        if args.base_url:
            provider = provider.model_copy(update={"base_url": args.base_url})
        print(f"resuming {record.run_id} ({provider.describe()})")
        stream = resume(record.run_id, ledger, provider, out_dir=args.out, deadline_s=args.deadline, options=options)
        code = max(code, await _print_run(stream, wait=True, cost=cost))
    return code


def _print_quote(quoted: Quote | None, sandbox: bool, max_cost: float | None) -> bool:
    """Print the quote before anything is sent; True when ``--max-cost`` refuses the request."""
    if quoted is None:
        return False  # an invalid request: the run refuses it with every problem named
    lines = quoted.lines(sandbox=sandbox)
    print(f"quote: {lines[0]}")
    for line in lines[1:]:
        print(f"  {line}")
    if max_cost is None:
        return False
    currency = quoted.currency or ""
    limit = money(max_cost, currency) if currency else f"{max_cost:g}"
    if quoted.total_max is None:
        print(f"error: --max-cost {limit}: this request has no price in the price table, so its cost is unknown; "
              "nothing was sent", file=sys.stderr)
        return True
    if quoted.total_max > max_cost + 1e-9:
        print(f"error: --max-cost {limit}: this request may cost up to {money(quoted.total_max, currency)}; "
              "nothing was sent. Lower it: 720P instead of 1080P, a shorter duration, fewer or shorter input "
              "videos", file=sys.stderr)
        return True
    return False


def _cost_printer(ledger: Ledger) -> Callable[[RunEvent], list[str]]:
    """The cost lines of a run that ended: its bill (and its quote when they differ), or why none."""

    def lines(event: RunEvent) -> list[str]:
        record = ledger.get(event.run_id)
        if record is None or not event.terminal:
            return []
        made, quoted = stored_cost(record.bill_json), stored_cost(record.quote_json)
        sandbox = " (sandbox: what DashScope would bill; nothing was charged)" if record.provider == "sandbox" else ""
        if made is not None:
            found = [f"cost: {made.get('headline')}{sandbox}"]
            if quoted is not None and (quoted.get("total_max") != made.get("total")
                                       or quoted.get("billed_seconds_max") != made.get("billed_seconds")):
                found.append(f"  quoted at Send: {quoted.get('headline')}")
            return found
        if event.state is RunState.SUCCEEDED:
            return ["cost: the answer reported no usage, so the bill is not known; check your console"]
        if record.task_id is None:
            return ["cost: nothing (nothing was sent)"] if event.state is RunState.INVALID else []
        if event.state in (RunState.FAILED, RunState.CANCELED, RunState.UNKNOWN):
            return ["cost: nothing billed (failed and cancelled tasks cost nothing)"]
        return []

    return lines


async def _print_run(stream: AsyncIterator[RunEvent], *, wait: bool, out: TextIO | None = None,
                     cost: Callable[[RunEvent], list[str]] | None = None) -> int:
    out = out or sys.stdout  # looked up per call, so a redirected stdout is honoured
    last: RunEvent | None = None
    shown_state: str | None = None
    async for event in stream:
        # Every validating and uploading line says something new (a warning, a file's name).
        if event.state != shown_state or event.retry is not None or event.state in _EACH_LINE:
            print(_line(event), file=out, flush=True)
            shown_state = event.state
        last = event
        if event.terminal:
            break
        if not wait and event.state is RunState.QUEUED and event.task_id:
            follow = f"python -m playground submit --resume {event.run_id}"
            print(f"task {event.task_id} is {event.state}; follow it with: {follow}", file=out)
            return EXIT_OK
    if last is None:
        return EXIT_REFUSED
    if last.error is not None:
        _explain(last, out)
    for line in cost(last) if cost is not None else ():
        print(line, file=out, flush=True)
    if last.video_path is not None:
        print(last.video_path, file=out, flush=True)
    return exit_code(last.state)


def _line(event: RunEvent) -> str:
    progress = f" {event.progress:.0f}%" if event.progress is not None and event.state is RunState.RUNNING else ""
    task = f" [task {event.task_id}]" if event.task_id and event.state in _WAITING else ""
    return f"[{event.elapsed_s:7.1f}s] {event.state}{progress}{task}: {event.message}"


def _explain(event: RunEvent, out: TextIO) -> None:
    error = event.error
    assert error is not None
    if isinstance(error, InvalidRequest):
        for problem in error.problems:
            print(f"  - {problem}", file=out)
    for line in event.guidance:
        print(f"  {line}", file=out)
    ids = [f"run {event.run_id}"]
    if event.task_id:
        ids.append(f"task {event.task_id}")
    if event.request_id:
        ids.append(f"request id {event.request_id}")
    print(f"  ({', '.join(ids)})", file=out, flush=True)
