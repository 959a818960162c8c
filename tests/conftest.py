"""Shared test set-up. Fixture families live in their own modules, listed here."""

from __future__ import annotations

import os
import tempfile

import pytest

# Never let Gradio phone home from a test run, and keep sandbox timings short by default.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

pytest_plugins = ["tests.fixtures_sandbox", "tests.fixtures_app", "tests.fixtures_client"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest files first: those with browser tests, then those with slow ones, then the rest.

    The test command hands whole files to pytest-xdist workers (``--dist loadfile``) in this
    order, so starting with the long ones keeps a long file from being the last to start and
    the others from idling while it runs. Whole files move, so the order inside a file stays.
    """

    def rank(item: pytest.Item) -> int:
        return 0 if item.get_closest_marker("browser") else 1 if item.get_closest_marker("slow") else 2

    ranks: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        ranks[path] = min(ranks.get(path, 2), rank(item))
    items.sort(key=lambda item: ranks[item.nodeid.split("::", 1)[0]])


@pytest.fixture(autouse=True, scope="session")
def _private_temp_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Everything a test run puts in the temp directory (its own apps' staging folders, Gradio's
    caches, PyAV's scratch files) goes under pytest's base folder, which pytest prunes, instead of
    piling up in the machine's /tmp. Apps started as subprocesses inherit it through TMPDIR."""
    temp = tmp_path_factory.mktemp("tmp", numbered=False)
    os.environ["TMPDIR"] = str(temp)
    tempfile.tempdir = str(temp)
