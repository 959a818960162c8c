"""History's "Download deck": this browser's showcase as an offline zip, handed over by ui/handout.py.

The deck is built by the same builder as ``/showcase/deck`` (``DeckBuilder``: the server passes
it to :func:`playground.ui.app.build_ui`; it lives in playground/showcase_sources.py, above the
UI). The owner is the signed cookie's, and the runs are its starred ones: a caller names no
run and no path. The zip goes to the browser through the handout folder, never from a path
anyone chose, and the builder's temporary file is removed once handed over.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import gradio as gr

from playground.ui.handlers import owner_of
from playground.ui.services import Services

DeckBuilder = Callable[[str, Sequence[str]], Path]  # owner, run ids (empty: its showcase) -> a new zip
DECK_NAME = "showcase-deck.zip"


def make_deck(services: Services, builder: DeckBuilder | None) -> Callable[..., str | None]:
    def deck(request: gr.Request) -> str | None:
        """The offline deck of this browser's showcase (its starred runs, in order): a zip whose
        index.html plays every video from the file system, with no server and no network."""
        if builder is None:
            raise gr.Error("Download deck: this server was started without the deck builder.")
        try:
            built = builder(owner_of(services, request), ())
        except ValueError:
            raise gr.Error("Download deck: star a run first; the deck holds this browser's starred runs.") from None
        folder = Path(tempfile.mkdtemp(prefix="wan27-deck-"))
        try:
            named = folder / DECK_NAME  # what the browser saves it as
            shutil.move(built, named)
            return services.handout(named)
        finally:
            with contextlib.suppress(OSError):
                built.unlink(missing_ok=True)
            shutil.rmtree(folder, ignore_errors=True)

    return deck
