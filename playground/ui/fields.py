"""API input checked before Gradio reads it, so every refusal names the parameter.

Every input of the page is also an API parameter, so a script can send anything: text for a
slider, a list for a checkbox, a choice that does not exist, a string where a file goes.
Gradio's components check ranges and choices but word the refusal without the field
("Value 16 is greater than maximum value 15."), let a wrong type crash inside Gradio (the
caller then sees only "the upstream app raised an exception"), and quietly turn anything into
text or a truth value ({"a": 1} becomes a prompt, "false" ticks a box).

:func:`guard` puts one check in front of Gradio's own reading of the inputs, on the Blocks
object: it judges each value against the session's copy of its component (so a slider whose
range an event changed is judged by its new range) and names the parameter as the API lists
it. It wraps the Blocks instance rather than each component: Gradio rebuilds a component from
its constructor arguments whenever an event changes its properties, which would drop anything
attached to the component, and it writes a ``.pyi`` stub beside every component subclass.
``preprocess_data`` is Gradio's own step, not a documented hook: if an upgrade renames it,
tests/test_bad_input_ui.py sees Gradio's generic messages again and fails.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import gradio as gr

from playground.core.problems import shown


def guard(demo: gr.Blocks) -> None:
    """Refuse ill-typed, out-of-range and unknown-choice API input with the parameter's name."""
    read_inputs: Callable[..., Awaitable[list[Any]]] = demo.preprocess_data

    async def preprocess_data(block_fn: Any, inputs: list[Any], state: Any, *args: Any, **kwargs: Any) -> list[Any]:
        names: Sequence[str | None] = getattr(block_fn, "input_parameter_names", None) or []
        skipped = set(getattr(block_fn, "component_prop_inputs", None) or ())
        for index, (block, payload) in enumerate(zip(block_fn.inputs, inputs, strict=False)):
            if index in skipped or getattr(block, "stateful", False):
                continue
            live = state[block._id] if state is not None and block._id in state else block
            refusal = judge(live, payload)
            if refusal is not None:
                field = names[index] if index < len(names) and names[index] else getattr(live, "label", None)
                raise gr.Error(f"{field or f'input {index + 1}'}: {refusal}")
        return await read_inputs(block_fn, inputs, state, *args, **kwargs)

    # An instance attribute, so only this Blocks is affected; Gradio calls self.preprocess_data.
    setattr(demo, "preprocess_data", preprocess_data)  # noqa: B010 (mypy refuses assigning to a method)


def _is_number(payload: Any) -> bool:
    return isinstance(payload, int | float) and not isinstance(payload, bool) and math.isfinite(payload)


def _whole(component: gr.Slider | gr.Number) -> bool:
    """Whether the component only holds whole numbers (Gradio would round 1.5 away silently)."""
    if isinstance(component, gr.Number):
        return component.precision == 0
    return float(component.step).is_integer() and float(component.minimum or 0).is_integer()


def judge(component: Any, payload: Any) -> str | None:
    """Why this component cannot take this value from an API caller, or None when it can."""
    if isinstance(component, gr.Slider | gr.Number):
        if payload is None and isinstance(component, gr.Number):
            return None
        if not _is_number(payload):
            return f"{shown(payload)} is not a number"
        low, high = component.minimum, component.maximum
        if low is not None and payload < low:
            return f"{shown(payload)} is below {shown(low)}, the minimum"
        if high is not None and payload > high:
            return f"{shown(payload)} is above {shown(high)}, the maximum"
        if _whole(component) and payload != int(payload):
            return f"{shown(payload)} is not a whole number"
        return None
    if isinstance(component, gr.Checkbox):
        return None if payload is None or isinstance(payload, bool) else f"{shown(payload)} is not true or false"
    if isinstance(component, gr.Textbox | gr.Code):
        return None if payload is None or isinstance(payload, str) else f"{shown(payload)} is not text"
    if isinstance(component, gr.CheckboxGroup) or (isinstance(component, gr.Dropdown) and component.multiselect):
        if payload is None:
            return None
        if not isinstance(payload, list):
            return f"{shown(payload)} is not a list"
        return next((_choice(component, item) for item in payload if _choice(component, item)), None)
    if isinstance(component, gr.Radio | gr.Dropdown):
        if payload is None or (isinstance(component, gr.Dropdown) and component.allow_custom_value):
            return None
        return _choice(component, payload)
    if isinstance(component, gr.File):
        items = payload if isinstance(payload, list) else [payload]
        if payload is None or all(isinstance(i, dict) and isinstance(i.get("path"), str) for i in items):
            return None
        return f"{shown(payload)} is not a file; send one with gradio_client.handle_file(path)"
    return None


def _choice(component: gr.Radio | gr.Dropdown | gr.CheckboxGroup, payload: Any) -> str | None:
    values = [choice[1] for choice in component.choices]
    # Python counts False as 0 and True as 1: a duration of true must not pass as 1 s.
    same_type = not isinstance(payload, bool) or any(isinstance(v, bool) for v in values)
    try:
        if same_type and payload in values:
            return None
    except TypeError:  # an unhashable or uncomparable value is no choice either
        pass
    return f"{shown(payload)} is not one of {values}"
