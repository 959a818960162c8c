"""A render process imports what rendering needs and nothing of the web stack.

Each sandbox render worker is a fresh interpreter (render_pool.py); whatever its entry module
pulls in is paid in CPU at every worker start. FastAPI alone was about 0.4 s of it, imported
through playground/sandbox/__init__.py. bench_render reports the CPU; this guards the cause.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import playground.sandbox
from playground.sandbox.render_pool import worker_command
from tests.fixtures_app import ROOT

WEB = ("fastapi", "starlette", "uvicorn", "gradio", "httpx", "playground.sandbox.app", "playground.ui")


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    answer = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            check=True)
    return set(json.loads(answer.stdout.splitlines()[-1]))


def test_the_worker_entry_imports_no_web_stack() -> None:
    """What BOOT imports before its first job: the worker module and the media code."""
    loaded = _modules_after(
        "import playground.sandbox.render_worker, playground.media.render, playground.media.probe"
    )
    assert "playground.media.render" in loaded  # the probe really ran the imports
    assert not {m for m in loaded for web in WEB if m == web or m.startswith(web + ".")}


def test_a_started_worker_exits_cleanly_when_its_pipe_closes() -> None:
    """The pool's own command runs its start-up imports and ends on end of input, code 0."""
    done = subprocess.run(worker_command(), input=b"", capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")


@pytest.mark.parametrize("name", playground.sandbox.__all__)
def test_every_re_exported_name_still_resolves(name: str) -> None:
    """The lazy package keeps its public names: ``from playground.sandbox import X`` works."""
    assert getattr(playground.sandbox, name) is not None


def test_an_unknown_name_is_an_attribute_error_and_submodules_still_import() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = playground.sandbox.no_such_thing  # type: ignore[attr-defined]
    from playground.sandbox import timing

    assert timing.__name__ == "playground.sandbox.timing"
