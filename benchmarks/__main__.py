"""``python -m benchmarks``: run every benchmark and print one table of figures.

Each ``benchmarks/bench_*.py`` module exposes ``run() -> list[dict]`` with the keys
benchmark, metric, value, unit, target and baseline. Figures are ratios against a baseline
measured in the same run wherever a target is relative, because these machines are shared.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("bench_"))


def _cell(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def table(rows: list[dict[str, Any]]) -> str:
    keys = ("benchmark", "metric", "value", "unit", "target", "baseline")
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_cell(row.get(k, "")) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("only", nargs="*", help="benchmark module names (default: all)")
    args = parser.parse_args(argv)
    names = args.only or discover()
    rows: list[dict[str, Any]] = []
    for name in names:
        module = importlib.import_module(f"benchmarks.{name.removeprefix('benchmarks.')}")
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(module.run())
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
