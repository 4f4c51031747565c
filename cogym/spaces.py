"""Helpers on Gymnasium spaces: fast membership checks and a JSON form.

The JSON form is what the datastore and the model registry store next to their data, so that a
reader rebuilds the exact space without unpickling anything::

    >>> from gymnasium import spaces
    >>> space = spaces.Dict({"pos": spaces.Box(-1, 1, (2,)), "id": spaces.Discrete(3, start=1)})
    >>> space_from_json(space_to_json(space)) == space
    True
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces

from cogym.errors import CogymError

__all__ = [
    "channels_first",
    "sb3_observes",
    "membership_check",
    "space_from_dict",
    "space_from_json",
    "space_to_dict",
    "space_to_json",
    "spaces_equal",
    "value_from_json",
    "value_to_json",
]


def membership_check(space: spaces.Space) -> Callable[[Any], bool]:
    """Return a function telling whether a value belongs to ``space``.

    Equivalent to ``space.contains`` but faster for the spaces that are stepped most often
    (Discrete, Box), and silent where Gymnasium would log a casting warning.
    """
    if type(space) is spaces.Discrete:
        low = int(space.start)
        high = low + int(space.n)

        def check_discrete(x: Any) -> bool:
            if type(x) is int or isinstance(x, np.integer):
                return low <= x < high
            if isinstance(x, np.ndarray) and x.shape == () and x.dtype.kind in "iu":
                return low <= int(x) < high
            return False

        return check_discrete
    if type(space) is spaces.Box:
        shape, dtype, low_b, high_b = space.shape, space.dtype, space.low, space.high
        can_cast = np.can_cast

        def check_box(x: Any) -> bool:
            if not isinstance(x, np.ndarray):
                try:
                    x = np.asarray(x, dtype=dtype)
                except (ValueError, TypeError, OverflowError):
                    return False
            return bool(
                x.shape == shape
                and can_cast(x.dtype, dtype)
                and (x >= low_b).all()
                and (x <= high_b).all()
            )

        return check_box
    return space.contains


# ---------------------------------------------------------------------------------------------
# JSON form of spaces


def _array_to_dict(a: np.ndarray) -> Any:
    flat = a.reshape(-1)
    if flat.size and (flat == flat[0]).all():
        value = flat[0].item()
        return _json_number(value)
    return [_json_number(v) for v in a.reshape(-1).tolist()]


def _json_number(v: Any) -> Any:
    if isinstance(v, float) and not np.isfinite(v):
        return "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def _number_from_json(v: Any) -> Any:
    if isinstance(v, str):
        return float(v)
    return v


def _array_from_dict(value: Any, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    if isinstance(value, list):
        return np.array([_number_from_json(v) for v in value], dtype=dtype).reshape(shape)
    return np.full(shape, _number_from_json(value), dtype=dtype)


def space_to_dict(space: spaces.Space) -> dict[str, Any]:
    """The JSON-serialisable dict form of a Gymnasium space (nested spaces included)."""
    if isinstance(space, spaces.Box):
        return {
            "type": "Box",
            "dtype": space.dtype.str,
            "shape": list(space.shape),
            "low": _array_to_dict(space.low),
            "high": _array_to_dict(space.high),
        }
    if isinstance(space, spaces.Discrete):
        return {
            "type": "Discrete",
            "n": int(space.n),
            "start": int(space.start),
            "dtype": space.dtype.str,
        }
    if isinstance(space, spaces.MultiDiscrete):
        return {
            "type": "MultiDiscrete",
            "nvec": space.nvec.tolist(),
            "start": space.start.tolist(),
            "dtype": space.dtype.str,
        }
    if isinstance(space, spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.asarray(space.n).tolist()}
    if isinstance(space, spaces.Dict):
        return {
            "type": "Dict",
            "subspaces": {key: space_to_dict(sub) for key, sub in space.spaces.items()},
        }
    if isinstance(space, spaces.Tuple):
        return {"type": "Tuple", "subspaces": [space_to_dict(sub) for sub in space.spaces]}
    if isinstance(space, spaces.Text):
        return {
            "type": "Text",
            "min_length": int(space.min_length),
            "max_length": int(space.max_length),
            "charset": "".join(space.character_set),
        }
    if isinstance(space, spaces.Sequence):
        return {
            "type": "Sequence",
            "feature_space": space_to_dict(space.feature_space),
            "stack": bool(space.stack),
        }
    raise CogymError(
        f"cannot serialise space {space!r} of type {type(space).__name__}: supported are Box, "
        "Discrete, MultiDiscrete, MultiBinary, Dict, Tuple, Text and Sequence"
    )


def space_from_dict(data: dict[str, Any]) -> spaces.Space:
    """Rebuild a space from :func:`space_to_dict`'s form."""
    kind = data.get("type")
    if kind == "Box":
        shape = tuple(data["shape"])
        dtype = np.dtype(data["dtype"])
        low = _array_from_dict(data["low"], shape, dtype)
        high = _array_from_dict(data["high"], shape, dtype)
        return spaces.Box(low=low, high=high, shape=shape, dtype=dtype)
    if kind == "Discrete":
        return spaces.Discrete(
            data["n"], start=data.get("start", 0), dtype=np.dtype(data.get("dtype", "<i8"))
        )
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(
            np.array(data["nvec"]),
            dtype=np.dtype(data.get("dtype", "<i8")),
            start=np.array(data["start"]),
        )
    if kind == "MultiBinary":
        return spaces.MultiBinary(data["n"])
    if kind == "Dict":
        return spaces.Dict({k: space_from_dict(v) for k, v in data["subspaces"].items()})
    if kind == "Tuple":
        return spaces.Tuple([space_from_dict(v) for v in data["subspaces"]])
    if kind == "Text":
        return spaces.Text(
            max_length=data["max_length"], min_length=data["min_length"], charset=data["charset"]
        )
    if kind == "Sequence":
        return spaces.Sequence(space_from_dict(data["feature_space"]), stack=data["stack"])
    raise CogymError(f"cannot rebuild a space of type {kind!r} from its JSON form: {data!r}")


def space_to_json(space: spaces.Space) -> str:
    """Serialise a space to a JSON string."""
    return json.dumps(space_to_dict(space), sort_keys=False)


def space_from_json(text: str) -> spaces.Space:
    """Rebuild a space from :func:`space_to_json`'s output."""
    return space_from_dict(json.loads(text))


def spaces_equal(a: spaces.Space | None, b: spaces.Space | None) -> bool:
    """Structural equality of two spaces, bounds and dtypes included."""
    if a is None or b is None:
        return a is b
    return bool(a == b)


def channels_first(space: spaces.Space) -> spaces.Space:
    """``space`` as Stable-Baselines3 trains on it: each channels-last image (a 3-d ``uint8``
    Box of bounds 0 and 255 whose smallest size is not first) made channels-first, as its
    ``VecTransposeImage`` does; an SB3 model's ``predict`` takes the channels-last images too.
    """
    if isinstance(space, spaces.Dict):
        return spaces.Dict({key: channels_first(sub) for key, sub in space.spaces.items()})
    if (
        isinstance(space, spaces.Box)
        and space.dtype == np.uint8
        and len(space.shape) == 3
        and int(np.argmin(space.shape)) != 0
        and np.all(space.low == 0)
        and np.all(space.high == 255)
    ):
        height, width, channels = space.shape
        return spaces.Box(0, 255, (channels, height, width), np.uint8)
    return space


def sb3_observes(model_space: spaces.Space, env_space: spaces.Space) -> bool:
    """Whether an SB3 model that observes ``model_space`` takes the observations of
    ``env_space``: the same space, or its images made channels-first (:func:`channels_first`)."""
    return model_space == env_space or model_space == channels_first(env_space)


# ---------------------------------------------------------------------------------------------
# JSON form of values (an action kept in a note, for instance)


def value_to_json(space: spaces.Space, value: Any) -> Any:
    """``value`` of ``space`` as JSON values that :func:`value_from_json` turns back exactly.

    Integers stay integers, floats keep every bit (``nan`` and infinities become strings), and
    arrays become nested lists of their shape::

        >>> box = spaces.Box(-1, 1, (2,), np.float32)
        >>> value_to_json(box, np.array([0.1, -1.0], np.float32))
        [0.10000000149011612, -1.0]
        >>> value_from_json(box, [0.10000000149011612, -1.0]).dtype
        dtype('float32')
    """
    if isinstance(space, spaces.Discrete):
        return int(value)
    if isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        array = np.asarray(value)
        if array.dtype.kind == "f":
            return _nested(array.astype(np.float64).tolist())
        if array.dtype.kind == "b":
            return array.astype(np.int64).tolist()
        return array.tolist()
    if isinstance(space, spaces.Dict):
        return {key: value_to_json(sub, value[key]) for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return [value_to_json(sub, v) for sub, v in zip(space.spaces, value, strict=True)]
    raise CogymError(
        f"cannot write a value of {space} as JSON: supported are Discrete, Box, MultiDiscrete, "
        "MultiBinary and Dict or Tuple of those"
    )


def value_from_json(space: spaces.Space, data: Any) -> Any:
    """The value of ``space`` that :func:`value_to_json` wrote as ``data`` (same dtype, shape)."""
    if isinstance(space, spaces.Discrete):
        return space.dtype.type(int(data))
    if isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        return np.asarray(_numbers(data), dtype=space.dtype).reshape(space.shape)
    if isinstance(space, spaces.Dict):
        return {key: value_from_json(sub, data[key]) for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(value_from_json(sub, v) for sub, v in zip(space.spaces, data, strict=True))
    raise CogymError(
        f"cannot read a value of {space} from JSON: supported are Discrete, Box, MultiDiscrete, "
        "MultiBinary and Dict or Tuple of those"
    )


def _nested(values: Any) -> Any:
    if isinstance(values, list):
        return [_nested(v) for v in values]
    return _json_number(values)


def _numbers(data: Any) -> Any:
    if isinstance(data, list):
        return [_numbers(v) for v in data]
    return _number_from_json(data)
