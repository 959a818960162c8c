"""``python -m playground quote``: what a request would cost, before it is sent.

::

    python -m playground quote FILE [--format gateway|dashscope] [--profile NAME|PATH]
                                    [--region singapore|beijing] [--prices PATH] [--json] [--probe]

FILE is a request in either wire format (``-`` reads stdin). Media may be local files, as for
``submit``: they are checked as ``submit`` checks them, and the billed ones (an edit's source
video, reference videos) are measured, so their quote is exact. A billed video given by URL
makes the quote a range (the profile's length limits), unless ``--probe`` downloads it to
measure it.

``--format`` prices the request as sent in that format (the gateway has its own model id and
may have its own price; default: the input's format). ``--region`` defaults to
``PLAYGROUND_DASHSCOPE_REGION``'s region, else singapore; ``--prices`` to ``PLAYGROUND_PRICES``,
else the built-in list prices.

Exit codes: 0 quoted (also when no price is known: the seconds are given and the notes say
why); 1 invalid request (the same lines as ``validate``), an unreadable file, profile or price
file; 2 usage error (a region the price table does not have).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from pydantic import ValidationError

from playground.client.attach import check_blocking, check_files
from playground.client.files import LocalFile, swap_out
from playground.core.jsonfile import JsonFileError, read_request_file
from playground.core.prices import DEFAULT_REGION, REGIONS, PriceError, load_prices, region_for
from playground.core.profile import Profile, ProfileError, load_profile
from playground.core.quote import billed_inputs, quote
from playground.core.request import VideoRequest
from playground.core.wire import FORMATS, parse
from playground.settings import Settings

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Quote a request: billed seconds, unit price and total, before anything is sent."
    parser.add_argument("file", help="a JSON request in either wire format ('-' reads stdin)")
    parser.add_argument("--format", choices=FORMATS, help="price it as sent in this format (default: the input's)")
    parser.add_argument("--profile", help="profile name or JSON file (default wan-2.7)")
    parser.add_argument("--region", metavar="REGION",
                        help=f"price region: {' or '.join(REGIONS)}, or one a price file adds "
                             "(default: PLAYGROUND_DASHSCOPE_REGION's, else singapore)")
    parser.add_argument("--prices", metavar="PATH",
                        help="a JSON price file, which may extend 'default' (default: PLAYGROUND_PRICES, "
                             "else the built-in list prices)")
    parser.add_argument("--json", action="store_true", help="print the quote as one JSON object")
    parser.add_argument("--probe", action="store_true",
                        help="download billed videos given by URL to measure them (makes the quote exact)")


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; the exit code."""
    try:
        settings = Settings()
    except ValidationError as exc:
        return _fail(f"configuration: {exc.errors()[0]['msg']}", EXIT_USAGE)
    try:
        profile = load_profile(args.profile or settings.profile)
        prices = load_prices(args.prices or settings.prices)
    except (ProfileError, PriceError) as exc:
        return _fail(str(exc))
    region = args.region or region_for(settings.dashscope_region) or DEFAULT_REGION
    if prices.region(region) is None:
        return _fail(f"--region {region!r}: the price table has no such region; use one of "
                     f"{', '.join(prices.regions)}", EXIT_USAGE)
    try:
        body = read_request_file(args.file)
    except JsonFileError as exc:
        return _fail(str(exc))
    # Local files stand in as placeholder URLs, as submit does, so the rules can judge the rest.
    swapped, files = swap_out(body)
    parsed = parse(swapped, profile)
    # As validate prints them, on stderr (so --json's stdout stays one object): errors as
    # "path: ...", warnings as "warning: path: ...".
    for problem, line in zip(parsed.all_problems(), parsed.lines(), strict=True):
        print(f"warning: {line}" if problem.severity == "warning" else line, file=sys.stderr)
    if not parsed.ok or parsed.request is None:
        return EXIT_INVALID
    problems = check_files(files, profile)
    if problems:
        for line in problems:
            print(line, file=sys.stderr)
        return EXIT_INVALID
    placeholders = {f.placeholder: f for f in files}
    seconds = _measure_local(parsed.request, profile, placeholders)
    if args.probe:
        seconds.update(_measure_urls(parsed.request, profile, placeholders))
    result = quote(parsed.request, profile, prices, region, seconds, fmt=args.format or parsed.format)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        print("\n".join(result.lines()))
        if not result.exact and not args.probe:
            print("(--probe downloads videos given by URL to measure them)")
    return EXIT_OK


def _measure_local(
    request: VideoRequest, profile: Profile, placeholders: dict[str, LocalFile]
) -> dict[str, float]:
    """Lengths of the billed inputs that are local files (already checked by check_files)."""
    found: dict[str, float] = {}
    for item in billed_inputs(request):
        local = placeholders.get(item.url)
        if local is None:
            continue
        verdict = check_blocking(local.path, local.kind, profile, (local.kind,))
        if verdict.info is not None and verdict.info.duration_s is not None:
            found[item.url] = verdict.info.duration_s
        else:
            print(f"warning: {local.original}: its length cannot be read; it stays a range", file=sys.stderr)
    return found


def _measure_urls(request: VideoRequest, profile: Profile, placeholders: dict[str, LocalFile]) -> dict[str, float]:
    """Lengths of the billed inputs given by URL, downloaded (capped at their size limit) and probed."""
    from playground.client.media_length import DEFAULT_MAX_BYTES, measure_urls

    urls: dict[str, int] = {}
    for item in billed_inputs(request):
        if item.url in placeholders or item.url in urls:
            continue
        limit = profile.media.get(item.type)
        urls[item.url] = limit.max_bytes if limit is not None else DEFAULT_MAX_BYTES
    if not urls:
        return {}
    # The command runs on its user's machine: any host may be reached (the permissive policy).
    found, problems = asyncio.run(measure_urls(urls))
    for line in problems:
        print(f"warning: {line}; its length stays a range", file=sys.stderr)
    return found


def _fail(message: str, code: int = EXIT_INVALID) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code
