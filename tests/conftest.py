"""Shared test set-up. Fixture families live in their own modules, listed here."""

from __future__ import annotations

import os

# Never let Gradio phone home from a test run, and keep sandbox timings short by default.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

pytest_plugins = ["tests.fixtures_sandbox", "tests.fixtures_app", "tests.fixtures_client"]
