"""Form values and requests map both ways without loss (what "Load into form" relies on)."""

from __future__ import annotations

from typing import Any

import pytest

from playground.core.profile import load_profile
from playground.ui.forms import field_names, form_from_request, request_from_form
from playground.ui.preview import build_preview
from tests.test_wire import FULL

WAN = load_profile()
# The wire tests' full requests, as the form produces them (switches always explicit).
REQUESTS: list[dict[str, Any]] = [
    {"mode": mode, "prompt_extend": True, "watermark": False, **fields} for mode, fields in FULL.items()
]

@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: r["mode"])
def test_request_to_form_and_back(request_: dict[str, Any]) -> None:
    """Every field, media included, survives request -> form -> request."""
    values = form_from_request(request_)
    assert set(field_names(request_["mode"])) <= set(values)
    assert request_from_form(request_["mode"], values) == request_


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: r["mode"])
def test_form_preview_is_valid_in_both_formats(request_: dict[str, Any]) -> None:
    """The preview built from the form is the valid wire body in either format."""
    values = form_from_request(request_)
    for fmt in ("gateway", "dashscope"):
        shown = build_preview(request_["mode"], values, fmt, WAN)
        assert shown.ok, shown.lines()


def test_random_seed_leaves_the_seed_out() -> None:
    values = form_from_request({"mode": "text-to-video", "prompt": "p"})
    assert values["random_seed"] is True
    assert "seed" not in request_from_form("text-to-video", values)
