"""50 concurrent sessions through gradio_client, each running a text-to-video task on the sandbox.

Reports how many finished, how many were lost or crossed into another session, and the wall
time, beside one session alone in the same run (the baseline).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.fixtures_app import start_app, stop_app
from tests.load_sessions import run_sessions

SESSIONS = 50


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        app = start_app(Path(tmp), delay_scale=0.3)
        try:
            alone = run_sessions(app.url + "/", 1)
            crowd = run_sessions(app.url + "/", SESSIONS)
        finally:
            stop_app(app)
    times = [s.seconds for s in crowd.sessions]
    lost = SESSIONS - crowd.succeeded
    return [
        {
            "benchmark": "load",
            "metric": f"sessions finished of {SESSIONS}",
            "value": crowd.succeeded,
            "unit": "",
            "target": str(SESSIONS),
            "baseline": "",
        },
        {
            "benchmark": "load",
            "metric": "runs lost or failed",
            "value": lost,
            "unit": "",
            "target": "0",
            "baseline": "",
        },
        {
            "benchmark": "load",
            "metric": "sessions that saw another's run",
            "value": crowd.crossed,
            "unit": "",
            "target": "0",
            "baseline": "",
        },
        {
            "benchmark": "load",
            "metric": "wall time, all sessions",
            "value": crowd.wall_s,
            "unit": "s",
            "target": "",
            "baseline": f"one session alone {alone.wall_s:.1f} s",
        },
        {
            "benchmark": "load",
            "metric": "median session time",
            "value": statistics.median(times),
            "unit": "s",
            "target": "",
            "baseline": f"one session alone {alone.wall_s:.1f} s",
        },
    ]


def main() -> int:
    from benchmarks.__main__ import table

    print(table(run()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
