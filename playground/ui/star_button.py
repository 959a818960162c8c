"""The Star toggle beside Cancel in each mode tab, and the words every Star button uses.

Only Gradio here: the layout builds the button (playground/ui/layout.py), and
playground/ui/showcase_panel.py wires it to playground/ui/showcase_actions.py, which acts on
the run the tab shows. Starred runs form this browser's showcase (``/showcase``).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

STAR = "☆ Star"
STARRED = "★ Starred"
STAR_INFO = "Star the run this tab shows: starred runs form this browser's showcase (/showcase)"


def build_star_button(mode: str) -> gr.Button:
    """Disabled until the tab shows a run (a Send, or the latest run restored on load)."""
    return gr.Button(STAR, variant="secondary", scale=1, interactive=False, elem_id=f"{mode}-star",
                     elem_classes=["star-toggle"])


def star_update(starred: bool | None) -> Any:
    """The button for a run that is (True) or is not (False) starred; None: the tab shows no run."""
    if starred is None:
        return gr.update(value=STAR, interactive=False)
    return gr.update(value=STARRED if starred else STAR, interactive=True)
