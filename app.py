"""Start the Wan 2.7 Video Playground: ``python app.py [--host H] [--port P] [--provider NAME] ...``.

Flags override environment variables (PLAYGROUND_*, DASHSCOPE_API_KEY); see the README.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from playground.core.prices import PriceError
from playground.sandbox import DataDirBusy
from playground.server import serve
from playground.settings import PROVIDERS, Settings


def main() -> None:
    parser = argparse.ArgumentParser(description="Wan 2.7 Video Playground")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--provider", choices=PROVIDERS)
    parser.add_argument("--base-url", dest="base_url")
    parser.add_argument("--profile", help="profile name (wan-2.7, guide-page) or a JSON profile file")
    parser.add_argument("--data-dir", dest="data_dir")
    parser.add_argument(
        "--delay-scale", dest="sandbox_delay_scale", type=float, help="sandbox timing: 0 = instant, 1 = realistic"
    )
    flags: dict[str, Any] = {k: v for k, v in vars(parser.parse_args()).items() if v is not None}
    try:
        serve(Settings(**flags))
    except DataDirBusy as exc:  # another process's sandbox would resume the same tasks
        sys.exit(f"error: {exc}")
    except PriceError as exc:  # PLAYGROUND_PRICES names a file that is missing or not a price table
        sys.exit(f"error: PLAYGROUND_PRICES: {exc}")


if __name__ == "__main__":
    main()
