"""Waiting on a condition, never on the clock alone.

A test that needs something to happen (a file to appear, a task to be forgotten, a row to
change) polls for it with a deadline, so it goes on as soon as the thing happened and fails
with a clear message when it never does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(check: Callable[[], T], what: str, timeout_s: float = 60.0, interval_s: float = 0.05) -> T:
    """Poll ``check()`` until it returns something true, and return that; AssertionError naming
    ``what`` after ``timeout_s`` (a bound on waiting, not a timing assertion)."""
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)
    return result
