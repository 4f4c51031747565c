"""What the spec's messages say of values of the wrong shape: a list or mapping written as
something else, a tag whose name or value is not one of the kinds a tag holds."""

from __future__ import annotations

from typing import Any

from cogym.specfile import shown

__all__ = ["SHAPES", "TAGS", "shape_problem"]

TAGS = {
    "tag_value": "a tag's value is one string, number or boolean, got {0}; write {1}: <value>",
    "tag_key": "a tag's name is a string, got {0}; quote it: '{1}': <value>",
}
SHAPES = {"model_type": "a mapping", "dict_type": "a mapping", "tuple_type": "a list"}


def shape_problem(loc: tuple[Any, ...], kind: str, value: Any) -> str:
    """A message for a list or mapping given as something else, with the YAML that fits."""
    got = {dict: "a mapping", list: "a list"}.get(type(value)) or (
        f"{type(value).__name__} {shown(value, 40)}"
    )
    text = value if isinstance(value, str) else None
    fix = "[a, b]" if kind == "tuple_type" else "{key: value, ...}"
    if loc == ("environment",):
        fix = f"environment: {{implementation: {text or 'gym:CartPole-v1'}}}"
    elif loc[:1] == ("actors",) and len(loc) <= 2:
        fix = f"actors: [{{name: {text or 'player'}, implementation: random}}]"
    return f"should be {SHAPES[kind]}, got {got}; write it as {fix}"
