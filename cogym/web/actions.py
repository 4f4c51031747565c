"""Actions as the page sends them (JSON) and as the environment takes them, and key maps.

The page sends an action as plain JSON: an integer for ``Discrete``, a (nested) list of
numbers for ``Box``, ``MultiDiscrete`` and ``MultiBinary``, an object for ``Dict`` and a list
for ``Tuple``. :func:`decode_action` turns that into an element of the action space or raises
:class:`~cogym.errors.PageMessageError` saying why, so nothing malformed reaches the
environment::

    >>> from gymnasium import spaces
    >>> decode_action(spaces.Discrete(2), 1)
    1
    >>> decode_action(spaces.Discrete(2), 5)
    Traceback (most recent call last):
    ...
    cogym.errors.PageMessageError: action 5 is not in the action space Discrete(2)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from cogym.errors import PageMessageError

__all__ = [
    "KeyBinding",
    "action_allowed",
    "action_mask",
    "bindings_from_config",
    "decode_action",
    "default_bindings",
    "default_noop",
    "observation_view",
    "to_json",
]

SMALL_DISCRETE = 10
"""Discrete spaces up to this size get digit keys by default."""
SMALL_BOX = 2
"""Box spaces with up to this many dimensions get arrow keys by default."""
OBSERVATION_LIMIT = 256
"""Observations with more numbers than this are summarised on the page, not listed."""


@dataclass(frozen=True)
class KeyBinding:
    """A key of the page (``KeyboardEvent.key`` or ``.code``) and the action it sends."""

    key: str
    action: Any
    """The action as JSON, as the page sends it."""
    label: str

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "action": self.action, "label": self.label}


# -- JSON -> action ------------------------------------------------------------------------


def decode_action(space: spaces.Space, value: Any, where: str = "action") -> Any:
    """The element of ``space`` that the JSON ``value`` stands for.

    Raises :class:`~cogym.errors.PageMessageError` naming what was wrong.
    """
    action = _decode(space, value, where)
    if not space.contains(action):
        raise PageMessageError(f"{where} {_shown(value)} is not in the action space {space}")
    return action


def _decode(space: spaces.Space, value: Any, where: str) -> Any:
    if isinstance(space, spaces.Discrete):
        if not _is_int(value):
            raise PageMessageError(
                f"{where} must be an integer for the action space {space}, got {_shown(value)} "
                f"({_json_type(value)})"
            )
        return int(value)
    if isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        return _cast(_numbers(value, space.shape, where, space), space, where)
    if isinstance(space, spaces.Dict):
        if not isinstance(value, dict):
            raise PageMessageError(
                f"{where} must be an object with keys {list(space.spaces)} for the action space "
                f"{space}, got {_json_type(value)}"
            )
        if set(value) != set(space.spaces):
            raise PageMessageError(
                f"{where} must have exactly the keys {sorted(space.spaces)}, got {sorted(value)}"
            )
        return {k: _decode(sub, value[k], f"{where}[{k!r}]") for k, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        if not isinstance(value, list) or len(value) != len(space.spaces):
            raise PageMessageError(
                f"{where} must be a list of {len(space.spaces)} items for the action space "
                f"{space}, got {_shown(value)}"
            )
        return tuple(
            _decode(sub, v, f"{where}[{i}]")
            for i, (sub, v) in enumerate(zip(space.spaces, value, strict=True))
        )
    raise PageMessageError(
        f"the page cannot send actions of a {type(space).__name__} space ({space}); "
        "supported are Discrete, Box, MultiDiscrete, MultiBinary, Dict and Tuple"
    )


def _numbers(value: Any, shape: tuple[int, ...], where: str, space: spaces.Space) -> np.ndarray:
    if _is_number(value) and int(np.prod(shape)) == 1:
        value = [value]
    flat: list[float] = []
    if not _flatten(value, flat):
        raise PageMessageError(
            f"{where} must be a list of numbers of shape {list(shape)} for the action space "
            f"{space}, got {_shown(value)}"
        )
    array = np.asarray(flat, dtype=np.float64)
    if array.size != int(np.prod(shape)):
        raise PageMessageError(
            f"{where} must hold {int(np.prod(shape))} numbers (shape {list(shape)}) for the action "
            f"space {space}, got {array.size}"
        )
    if not np.all(np.isfinite(array)):
        raise PageMessageError(f"{where} holds a number that is not finite")
    return array.reshape(shape)


def _cast(array: np.ndarray, space: spaces.Space, where: str) -> np.ndarray:
    """``array`` in the space's dtype; integer dtypes (and MultiBinary's) take only integers,
    and a number the dtype cannot hold (256 for uint8) is refused rather than wrapped."""
    dtype = np.dtype(space.dtype)
    if dtype.kind not in "iub":
        return array.astype(dtype)
    if not np.all(array == np.round(array)):
        raise PageMessageError(f"{where} must hold integers for the action space {space}")
    if dtype.kind != "b":
        info = np.iinfo(dtype)
        if np.any(array < info.min) or np.any(array > info.max):
            raise PageMessageError(
                f"{where} {_shown(array.astype(np.int64).tolist())} is not in the action space "
                f"{space} (its "
                f"dtype {dtype} holds {info.min}..{info.max})"
            )
    return array.astype(dtype)


def _flatten(value: Any, out: list[float], depth: int = 0) -> bool:
    if depth > 8:
        return False
    if _is_number(value):
        out.append(float(value))
        return True
    if isinstance(value, list):
        return all(_flatten(v, out, depth + 1) for v in value)
    return False


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _json_type(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- action / observation -> JSON ----------------------------------------------------------


def to_json(value: Any) -> Any:
    """A JSON-serialisable form of an observation or action (arrays become lists)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# -- defaults ------------------------------------------------------------------------------


def default_noop(space: spaces.Space) -> Any:
    """The action used for ``on_timeout: noop`` when the config gives none (as JSON), or None.

    The first action of a ``Discrete`` space; zeros (clipped into the bounds) for a ``Box``; the
    smallest values of ``MultiDiscrete`` and zeros of ``MultiBinary``.
    """
    if isinstance(space, spaces.Discrete):
        return int(space.start)
    if isinstance(space, spaces.Box):
        return to_json(_neutral(space))
    if isinstance(space, spaces.MultiDiscrete):
        return to_json(np.asarray(space.start))
    if isinstance(space, spaces.MultiBinary):
        return to_json(np.zeros(space.shape, dtype=np.int64))
    return None


def _neutral(space: spaces.Box) -> np.ndarray:
    neutral = np.clip(np.zeros(space.shape), space.low, space.high)
    if space.dtype.kind in "iu":
        neutral = np.round(neutral)
    return neutral.astype(space.dtype)


def _label(action: Any, space: spaces.Space, labels: list[str] | None) -> str:
    """``labels``' name of the Discrete ``action``, else the action as JSON."""
    if labels is not None and isinstance(space, spaces.Discrete) and _is_int(action):
        index = int(action) - int(space.start)
        if 0 <= index < len(labels):
            return str(labels[index])
    return _shown(action)


def default_bindings(space: spaces.Space, labels: list[str] | None = None) -> list[KeyBinding]:
    """Sensible keys for small ``Discrete`` and ``Box`` spaces; empty for anything else.

    ``labels`` name the actions of a Discrete space (the buttons show them).

    ``Discrete(2)``: left/right arrows; ``Discrete(3)``: left/down/right; digits ``1``..``9``,
    ``0`` for the first ten actions of any ``Discrete``. A ``Box`` of one or two dimensions with
    finite bounds: left/right arrows send the low/high end of the first dimension, down/up those
    of the second, the other dimension staying neutral (zero clipped into its bounds).
    """
    bindings: list[KeyBinding] = []
    if isinstance(space, spaces.Discrete):
        start, n = int(space.start), int(space.n)
        arrows = {2: ["ArrowLeft", "ArrowRight"], 3: ["ArrowLeft", "ArrowDown", "ArrowRight"]}
        for i, key in enumerate(arrows.get(n, [])):
            bindings.append(KeyBinding(key, start + i, _label(start + i, space, labels)))
        for i in range(min(n, SMALL_DISCRETE)):
            digit = str((i + 1) % 10)
            bindings.append(KeyBinding(digit, start + i, _label(start + i, space, labels)))
        return bindings
    if isinstance(space, spaces.Box):
        size = int(np.prod(space.shape))
        if not 1 <= size <= SMALL_BOX or not (space.is_bounded("both")):
            return []
        neutral = _neutral(space).reshape(-1)
        low, high = space.low.reshape(-1), space.high.reshape(-1)
        keys = [("ArrowLeft", "ArrowRight"), ("ArrowDown", "ArrowUp")]
        for dim in range(size):
            for key, end in zip(keys[dim], (low, high), strict=True):
                action = neutral.copy()
                action[dim] = end[dim]
                shaped = to_json(action.reshape(space.shape))
                bindings.append(KeyBinding(key, shaped, f"{_shown(shaped)}"))
        return bindings
    return []


def bindings_from_config(
    space: spaces.Space, keys: Mapping[str, Any], labels: list[str] | None = None
) -> list[KeyBinding]:
    """Key bindings from a ``keys`` config: ``{key: action}`` or ``{key: {action, label}}``;
    a key without a label takes the action's name from ``labels`` (a Discrete space's).

    Each action is checked against ``space``; a bad one raises
    :class:`~cogym.errors.PageMessageError` naming the key.
    """
    bindings = []
    for key, entry in keys.items():
        if not isinstance(key, str) or not key:
            raise PageMessageError(f"config.keys: key names must be non-empty strings, got {key!r}")
        label = None
        action = entry
        if isinstance(entry, Mapping):
            unknown = set(entry) - {"action", "label"}
            if "action" not in entry or unknown:
                raise PageMessageError(
                    f"config.keys[{key!r}]: give an action, or an object with 'action' and an "
                    f"optional 'label' (got keys {sorted(entry)})"
                )
            action, label = entry["action"], entry.get("label")
        decode_action(space, to_json(action), f"config.keys[{key!r}]")
        action = to_json(action)
        bindings.append(
            KeyBinding(
                key, action, str(label) if label is not None else _label(action, space, labels)
            )
        )
    return bindings


# -- observations: masks and what the page shows -------------------------------------------


def action_mask(observation: Any, space: spaces.Space) -> np.ndarray | None:
    """The ``action_mask`` of a dict observation (PettingZoo's classic games), for a Discrete
    action space; ``None`` if there is none."""
    if (
        isinstance(observation, dict)
        and "action_mask" in observation
        and isinstance(space, spaces.Discrete)
    ):
        mask = np.asarray(observation["action_mask"]).astype(bool).reshape(-1)
        if mask.shape == (int(space.n),) and mask.any():
            return mask
    return None


def action_allowed(action: Any, mask: np.ndarray, space: spaces.Discrete) -> bool:
    index = int(action) - int(space.start)
    return bool(mask[index]) if 0 <= index < len(mask) else False


def observation_view(observation: Any) -> Any:
    """The observation as the page shows it: listed when small, summarised when large."""
    size = _size(observation)
    if size <= OBSERVATION_LIMIT:
        return to_json(observation)
    if isinstance(observation, np.ndarray):
        return f"array of shape {list(observation.shape)} ({observation.dtype})"
    return f"{type(observation).__name__} of {size} values"


def _size(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return int(value.size)
    if isinstance(value, Mapping):
        return sum(_size(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_size(v) for v in value)
    return 1
