"""Run a producer on a second thread so drawing frame N+1 overlaps with encoding frame N.

On light content x264 keeps roughly one core busy, and numpy, FFmpeg's scaler and PyAV's
encode calls all release the GIL, so drawing on the idle core takes it off the critical path.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

_POLL_S = 0.05


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class _Done:
    """Marks the end of the items."""


@dataclass(frozen=True)
class _Item(Generic[T]):
    value: T


@contextmanager
def prefetched(items: Iterable[T], depth: int = 4) -> Iterator[Iterator[T]]:
    """Yield an iterator over items that are produced ahead on a worker thread.

    The worker is always finished when the block exits, so whatever it used (open decoders)
    can be closed safely afterwards. An exception in the worker is raised in the consumer.
    """
    buffer: queue.Queue[_Item[T] | _Failed | _Done] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: _Item[T] | _Failed | _Done) -> bool:
        while not stop.is_set():
            try:
                buffer.put(entry, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for value in items:
                if not put(_Item(value)):
                    return
        except BaseException as exc:
            put(_Failed(exc))
            return
        put(_Done())

    def consume() -> Iterator[T]:
        while True:
            entry = buffer.get()
            if isinstance(entry, _Done):
                return
            if isinstance(entry, _Failed):
                raise entry.error
            yield entry.value

    worker = threading.Thread(target=produce, name="media-frames", daemon=True)
    worker.start()
    try:
        yield consume()
    finally:
        stop.set()
        worker.join()
