"""``python -m playground sweep``: one request, many variations, run as a batch.

::

    python -m playground sweep FILE --vary FIELD=V1,V2,... [--vary FIELD=...] [--seeds N]
                                    [--fill NAME=V1,V2,...] [--provider ...] [--base-url URL]
                                    [--concurrency N] [--out DIR] [--rehearse SCENARIO]
                                    [--max-cost AMOUNT] [--dry-run]
    python -m playground sweep --resume DIR

FILE is a request in either wire format; FIELD a request-model field (``seed``, ``prompt``,
``duration``, ``resolution``, ``aspect_ratio`` or ``ratio`` ...; prompts are separated by ``|``).
``--seeds N`` adds an axis of N random seeds; ``--fill NAME=...`` makes FILE's prompt a template
whose ``{NAME}`` takes each value (one prompt axis). At most two axes and
``PLAYGROUND_MAX_VARIATIONS`` (16) requests. Every request is checked like a single ``submit``
and quoted; ``--dry-run`` prints each wire body and the total quote and sends nothing.

The provider flags, the embedded sandbox, ``--rehearse`` and ``--max-cost`` (here: the whole
batch's total) are ``submit``'s. At most ``--concurrency`` (``PLAYGROUND_CONCURRENCY``, 2) tasks
are in flight for the key, and a 429 makes the whole batch back off (client/pressure.py).

Writes ``DIR/summary.json`` and ``DIR/summary.csv`` (default DIR: ``<data dir>/sweeps/<batch>``),
videos in ``DIR/videos``. Exit codes: 0 every variation succeeded; 1 a variation is invalid,
the FILE cannot be read or the quote passes --max-cost (nothing sent); 2 usage error; 4 a
variation did not succeed; 130 interrupted (Ctrl-C: tasks cancelled where the provider allows;
``--resume DIR`` then finishes the sweep, never resending a finished or unknown-outcome one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from playground.client.billing import quote_body, region_of
from playground.client.cli import (
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_TASK_FAILED,
    EXIT_USAGE,
    SCENARIOS,
    EmbeddedSandbox,
    cli_amount,
    cli_provider,
    cli_settings,
)
from playground.client.files import swap_in, swap_out
from playground.client.ledger_location import open_ledger
from playground.client.providers import ProviderConfig, provider_from_settings
from playground.client.run_state import RunEvent, RunOptions
from playground.client.sweep import (
    SweepFileError,
    SweepItem,
    SweepPlan,
    SweepRun,
    counts,
    describe_provider,
    new_batch_id,
    read_summary,
    run_sweep,
)
from playground.core.jsonfile import JsonFileError, read_request_file
from playground.core.prices import PriceError, PriceTable, load_prices
from playground.core.profile import Profile, ProfileError, load_profile
from playground.core.quote import Quote, money
from playground.core.rules import CheckOptions
from playground.core.variation_grid import Grid, preview, total_quote
from playground.core.variations import Axis, VariationError, parse_vary, seed_axis, template_axis
from playground.core.wire import FORMATS, parse
from playground.settings import PROVIDERS, Settings

# Where --dry-run pretends the embedded sandbox is: only its wire format and region matter.
_NOWHERE = "http://embedded-sandbox.invalid/sandbox"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Run variations of one request (seeds, prompts, parameters) as a batch."
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = ("exit codes: 0 all succeeded, 1 a variation is invalid (nothing sent), 2 usage error, "
                     "4 a variation failed, 130 interrupted")
    parser.add_argument("file", nargs="?", help="a JSON request in either wire format, the base of every variation")
    parser.add_argument("--vary", action="append", default=[], metavar="FIELD=V1,V2,...",
                        help="an axis: a request field and its values (prompts separated by |)")
    parser.add_argument("--seeds", type=int, metavar="N", help="an axis of N random seeds")
    parser.add_argument("--fill", action="append", default=[], metavar="NAME=V1,V2,...",
                        help="FILE's prompt is a template: {NAME} takes each value (one prompt axis)")
    parser.add_argument("--provider", choices=PROVIDERS, help="where to send them (default: sandbox)")
    parser.add_argument("--base-url", help="provider base URL (sandbox: its /sandbox mount; gateway: .../v1)")
    parser.add_argument("--wire", choices=FORMATS, help="wire format to send (default: the provider's own)")
    parser.add_argument("--concurrency", type=int, metavar="N",
                        help="tasks in flight at once for the key (default PLAYGROUND_CONCURRENCY, 2)")
    parser.add_argument("--out", type=Path, help="folder for summary.json, summary.csv and the videos")
    parser.add_argument("--rehearse", choices=SCENARIOS, metavar="SCENARIO",
                        help=f"sandbox scenario to rehearse: {', '.join(SCENARIOS)}")
    parser.add_argument("--max-cost", type=cli_amount, metavar="AMOUNT",
                        help="refuse (exit 1, nothing sent) when the batch's total quote may cost more than this")
    parser.add_argument("--dry-run", action="store_true",
                        help="print every wire body and the total quote; send nothing")
    parser.add_argument("--resume", type=Path, metavar="DIR", help="finish the interrupted sweep whose --out was DIR")
    parser.add_argument("--deadline", type=float, help="give up on a variation after this many seconds")
    parser.add_argument("--data-dir", type=Path, help="ledger, downloads and sandbox files (default .playground)")
    parser.add_argument("--profile", help="constraint profile name or file (default wan-2.7)")
    parser.add_argument("--session", help="a session id to file the runs under")


def run(args: argparse.Namespace, *, embedded_sandbox: EmbeddedSandbox | None = None) -> int:
    """Run the subcommand; the exit code."""
    plan: SweepPlan | None = None
    if args.resume is not None:
        try:
            plan = read_summary(args.resume)
        except SweepFileError as exc:
            return _usage(str(exc))
        _resume_flags(args, plan)
    elif args.file is None:
        return _usage("give a request FILE (or --resume DIR)")
    try:
        settings = cli_settings(args)
        profile = load_profile(args.profile or settings.profile)
        prices = load_prices(settings.prices)
    except (ValidationError, ProfileError, PriceError) as exc:
        return _usage(str(exc))
    if args.rehearse and settings.provider != "sandbox":
        return _usage("--rehearse needs the sandbox provider")
    if args.concurrency is not None and not 1 <= args.concurrency <= 32:
        return _usage("--concurrency: give a number from 1 to 32")
    logging.getLogger("stamina").addHandler(logging.NullHandler())  # retries are printed as lines already
    try:
        return asyncio.run(_main(args, settings, profile, prices, plan, embedded_sandbox))
    except KeyboardInterrupt:
        print("interrupted: the summary says where each variation stopped; finish with --resume", file=sys.stderr)
        return EXIT_INTERRUPTED


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _resume_flags(args: argparse.Namespace, plan: SweepPlan) -> None:
    """A resumed sweep goes where it went before, unless the flags say otherwise."""
    was = plan.provider
    args.provider = args.provider or was.get("kind")
    args.wire = args.wire or was.get("wire")
    args.rehearse = args.rehearse or was.get("scenario")
    if not args.base_url and not was.get("embedded"):
        args.base_url = was.get("base_url")
    args.out = args.resume


async def _main(args: argparse.Namespace, settings: Settings, profile: Profile, prices: PriceTable,
                plan: SweepPlan | None, embedded_sandbox: EmbeddedSandbox | None) -> int:
    quotes: dict[int, Quote] = {}
    if plan is None:
        try:
            draft = _draft_provider(args, settings)
        except (ValueError, ValidationError) as exc:
            return _usage(str(exc))
        built = _build(args, settings, profile, prices, draft, quotes)
        if isinstance(built, int):
            return built
        plan = built
    ledger = open_ledger(settings.data_dir)
    if plan.ledger != str(ledger.path):
        return _usage(f"this sweep's runs are in {plan.ledger}; resume it with the same --data-dir")
    with cli_provider(args, settings, embedded_sandbox) as provider:
        plan.provider = {**describe_provider(provider), "embedded": provider.kind == "sandbox"
                         and not (args.base_url or settings.base_url)}
        folder: Path = args.out
        concurrency = args.concurrency or settings.concurrency
        print(f"batch {plan.batch_id}: {sum(i.valid for i in plan.items)} variations, {concurrency} at a time, "
              f"on {provider.describe()}", flush=True)
        how = SweepRun(provider=provider, ledger=ledger, out_dir=folder / "videos", summary_dir=folder,
                       options=RunOptions(profile=profile, prices=prices,
                                          region=region_of(provider, settings.dashscope_region)),
                       concurrency=concurrency, deadline_s=args.deadline or settings.run_deadline_s,
                       session_id=args.session, quotes=quotes, on_event=_Progress(plan))
        try:
            await run_sweep(plan, how)
        finally:
            _clear_progress()
            print(f"summary: {folder / 'summary.json'} and {folder / 'summary.csv'}", flush=True)
    found = counts(plan)
    print(f"{found['succeeded']} succeeded, {found['failed']} did not, {found['open']} not ended", flush=True)
    return EXIT_OK if found["succeeded"] == sum(i.valid for i in plan.items) else EXIT_TASK_FAILED


def _draft_provider(args: argparse.Namespace, settings: Settings) -> ProviderConfig:
    """The provider's wire format and region, without starting or reaching anything."""
    base_url = settings.base_url or (_NOWHERE if settings.provider == "sandbox" else None)
    return provider_from_settings(settings, settings.provider, base_url=base_url, wire=args.wire,
                                  scenario=args.rehearse)


def _build(args: argparse.Namespace, settings: Settings, profile: Profile, prices: PriceTable,
           provider: ProviderConfig, quotes: dict[int, Quote]) -> SweepPlan | int:
    """The judged grid, printed; the plan to run, or an exit code (invalid, dry run, too dear)."""
    try:
        body = read_request_file(args.file, stdin=sys.stdin.buffer if args.file == "-" else None)
    except JsonFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    # Local files stand in as placeholder URLs, as submit does, so the rules can judge the rest.
    swapped, files = swap_out(body)
    originals = {f.placeholder: f.original for f in files}
    options = CheckOptions(allow_oss_urls=provider.wire == "dashscope")
    parsed = parse(swapped, profile, options=options)
    wire_errors = [line for p, line in zip(parsed.problems, parsed.lines(), strict=False) if p.severity == "error"]
    if parsed.request is None or wire_errors:
        for line in parsed.lines():
            print(line, file=sys.stderr)
        return EXIT_INVALID
    base = parsed.request.model_dump(mode="json", exclude_none=True)
    try:
        axes = _axes(args, base, profile)
        grid = preview(parsed.request.mode, base, axes, profile, provider.wire, limit=settings.max_variations,
                       options=options)
    except VariationError as exc:
        return _usage(str(exc))
    region = region_of(provider, settings.dashscope_region)
    for entry in grid.entries:
        if entry.ok:
            entry.body = swap_in(entry.body, originals)
            found = quote_body(entry.body, profile, prices, region, fmt=provider.wire)
            if found is not None:
                quotes[entry.variation.index] = entry.quote = found
    grid.quote = total_quote(grid.entries, prices)
    _print_grid(grid, args.dry_run, provider.kind == "sandbox")
    if grid.invalid:
        print(f"error: {grid.invalid} of {len(grid.entries)} variations are invalid; nothing was sent",
              file=sys.stderr)
        return EXIT_INVALID
    if args.dry_run:
        return EXIT_OK
    if args.max_cost is not None and _too_dear(grid, args.max_cost):
        return EXIT_INVALID
    batch_id = new_batch_id()
    args.out = args.out or settings.data_dir / "sweeps" / batch_id
    items = [SweepItem(e.variation.index, e.variation.label, dict(e.variation.values), e.body, list(e.problems))
             for e in grid.entries]
    return SweepPlan(batch_id, grid.mode, [{"field": a.field, "values": list(a.values)} for a in grid.axes],
                     describe_provider(provider), str(open_ledger(settings.data_dir).path), items,
                     created_at=time.time())


def _axes(args: argparse.Namespace, base: dict[str, Any], profile: Profile) -> list[Axis]:
    mode = base["mode"]
    axes = [parse_vary(spec, mode, profile) for spec in args.vary]
    if args.seeds is not None:
        axes.append(seed_axis(args.seeds, seed_max=profile.seed_max))
    if args.fill:
        fills: dict[str, list[str]] = {}
        for spec in args.fill:
            name, sep, text = spec.partition("=")
            if not sep or not name.strip():
                raise VariationError("--fill", "write NAME=V1,V2,... for a {NAME} in the prompt")
            fills[name.strip()] = [v.strip() for v in text.split(",") if v.strip()]
        axes.append(template_axis(str(base.get("prompt", "")), fills))
    if not axes:
        raise VariationError("--vary", "nothing varies; add --vary FIELD=V1,V2, --seeds N or --fill NAME=V1,V2")
    return axes


def _print_grid(grid: Grid, dry_run: bool, sandbox: bool) -> None:
    shape = " × ".join(f"{len(a.values)} {a.field}" for a in grid.axes)
    print(f"variations: {len(grid.entries)} ({shape}), {grid.valid} valid, {grid.invalid} invalid")
    for entry in grid.entries:
        v = entry.variation
        print(f"[{v.index}] {v.label}: {'ok' if entry.ok else 'invalid'}")
        for line in entry.problems:
            print(f"    {line}")
        for line in entry.warnings:
            print(f"    warning: {line}")
        if dry_run and entry.ok:
            print(json.dumps(entry.body, indent=2, ensure_ascii=False))
    if grid.quote is not None:
        print(f"quote: {grid.quote.headline(sandbox=sandbox)}")
        print(f"  {grid.quote.price_note}")
    sys.stdout.flush()


def _too_dear(grid: Grid, max_cost: float) -> bool:
    total = grid.quote
    currency = total.currency if total is not None else None
    limit = money(max_cost, currency) if currency else f"{max_cost:g}"
    if total is None or total.total_max is None:
        print(f"error: --max-cost {limit}: these requests have no price in the price table, so their cost is "
              "unknown; nothing was sent", file=sys.stderr)
        return True
    if total.total_max > max_cost + 1e-9:
        print(f"error: --max-cost {limit}: the batch may cost up to {money(total.total_max, currency or '')}; "
              "nothing was sent. Fewer variations, 720P or shorter durations cost less", file=sys.stderr)
        return True
    return False


class _Progress:
    """A line per variation that ends (stdout); a live count on stderr when it is a terminal."""

    def __init__(self, plan: SweepPlan) -> None:
        self.plan = plan
        self.live = sys.stderr.isatty()

    def __call__(self, item: SweepItem, event: RunEvent) -> None:
        if event.terminal:
            _clear_progress()
            where = f" {event.video_path}" if event.video_path is not None else f" ({event.message})"
            print(f"[{item.index}] {item.label}: {event.state}{where}", flush=True)
        if self.live:
            found = counts(self.plan)
            waiting = sum(1 for i in self.plan.items if i.state == "waiting")
            sys.stderr.write(f"\r  {found['succeeded'] + found['failed']}/{sum(i.valid for i in self.plan.items)} "
                             f"ended · {found['open'] - waiting} running · {waiting} waiting ")
            sys.stderr.flush()


def _clear_progress() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()
