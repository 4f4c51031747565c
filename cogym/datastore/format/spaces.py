"""How values of a Gymnasium space become columns of fixed-shape arrays, and back.

A space is flattened into *leaves*: a Box, Discrete, MultiDiscrete, MultiBinary or Text is one
leaf; a Dict or Tuple has one leaf per nested simple space. A leaf's path names it inside the
field (``("pos",)``, ``("1", "id")``; ``()`` for a simple space) and the rows of a column stack
the leaf's values over ticks::

    >>> from gymnasium import spaces
    >>> space = spaces.Dict({"pos": spaces.Box(-1, 1, (2,)), "id": spaces.Discrete(3)})
    >>> [(leaf.path, leaf.shape) for leaf in leaves(space)]
    [(('id',), ()), (('pos',), (2,))]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import numpy as np
from gymnasium import spaces

from cogym.errors import UnrecordableSpaceError

__all__ = [
    "Leaf",
    "capture",
    "check_recordable",
    "key_name",
    "leaves",
    "nest",
    "path_name",
    "stack",
    "stacker",
    "value_at",
]

TEXT = np.dtype(object)
_BYTES = {bytes}
"""Text leaves are object arrays of ``str`` in memory (variable-length strings on disk)."""


@dataclass(frozen=True)
class Leaf:
    """One simple space inside a (possibly nested) space."""

    path: tuple[str, ...]
    space: spaces.Space
    dtype: np.dtype
    shape: tuple[int, ...]

    @property
    def is_text(self) -> bool:
        return isinstance(self.space, spaces.Text)


def key_name(key: Any) -> str:
    """The escaped form of a Dict key, as leaf paths hold it."""
    return quote(str(key), safe="")


def path_name(path: tuple[str, ...]) -> str:
    """``("a", "b")`` -> ``"a/b"`` (keys are already escaped by :func:`leaves`)."""
    return "/".join(path)


def column_name(base: str, path: tuple[str, ...]) -> str:
    """Where a leaf's column is stored under ``base``: ``base`` itself for a simple space,
    ``base/a/b`` for the leaf at ``("a", "b")``."""
    return base + ("/" + "/".join(path) if path else "")


def leaves(space: spaces.Space, path: tuple[str, ...] = ()) -> list[Leaf]:
    """The simple spaces of ``space``, depth first, Dict keys in the space's order."""
    if isinstance(space, spaces.Dict):
        out: list[Leaf] = []
        for key, sub in space.spaces.items():
            out += leaves(sub, path + (key_name(key),))
        return out
    if isinstance(space, spaces.Tuple):
        out = []
        for i, sub in enumerate(space.spaces):
            out += leaves(sub, path + (str(i),))
        return out
    if isinstance(space, spaces.Box):
        return [Leaf(path, space, np.dtype(space.dtype), tuple(space.shape))]
    if isinstance(space, spaces.Discrete):
        return [Leaf(path, space, np.dtype(space.dtype), ())]
    if isinstance(space, spaces.MultiDiscrete):
        return [Leaf(path, space, np.dtype(space.dtype), tuple(space.shape))]
    if isinstance(space, spaces.MultiBinary):
        return [Leaf(path, space, np.dtype(space.dtype), tuple(space.shape))]
    if isinstance(space, spaces.Text):
        return [Leaf(path, space, TEXT, ())]
    raise UnrecordableSpaceError(
        f"cannot record values of {space} ({type(space).__name__}): the datastore records Box, "
        "Discrete, MultiDiscrete, MultiBinary, Text, and Dict and Tuple of those"
    )


def check_recordable(space: spaces.Space, what: str) -> None:
    """Raise :class:`UnrecordableSpaceError` naming ``what`` if ``space`` cannot be recorded."""
    try:
        leaves(space)
    except UnrecordableSpaceError as exc:
        raise UnrecordableSpaceError(f"{what}: {exc}") from None


def capture(space: spaces.Space) -> Callable[[Any], Any]:
    """A function that copies a value's arrays, so that an env reusing its buffers is harmless.

    An array that has its leaf's dtype and shape is kept as its raw bytes (the cheapest copy,
    and :func:`stacker` joins them without looking at each row); anything else is kept as a
    copy, to be converted (or refused) when the trial's values are stacked.
    """
    if isinstance(space, spaces.Dict):
        parts = {key: capture(sub) for key, sub in space.spaces.items()}
        return lambda value: {key: part(value[key]) for key, part in parts.items()}
    if isinstance(space, spaces.Tuple):
        items = [capture(sub) for sub in space.spaces]
        return lambda value: tuple(part(v) for part, v in zip(items, value, strict=True))
    ndarray = np.ndarray
    if isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)) and space.shape:
        dtype = np.dtype(space.dtype)
        shape = tuple(space.shape)

        def capture_array(value: Any) -> Any:
            if type(value) is ndarray:
                if (value.dtype is dtype or value.dtype == dtype) and value.shape == shape:
                    return value.tobytes()
                return value.copy()
            return value

        return capture_array

    def copy_array(value: Any) -> Any:
        return value.copy() if type(value) is ndarray else value

    return copy_array


def _getter(path: tuple[str, ...], space: spaces.Space) -> Callable[[Any], Any]:
    steps: list[Any] = []
    current = space
    for part in path:
        if isinstance(current, spaces.Dict):
            key = next(k for k in current.spaces if key_name(k) == part)
            steps.append(key)
            current = current.spaces[key]
        else:
            steps.append(int(part))
            current = current.spaces[int(part)]
    if not steps:
        return lambda value: value

    def get(value: Any) -> Any:
        for step in steps:
            value = value[step]
        return value

    return get


_FITS = object()


def _check_exact(column: Sequence[Any], array: np.ndarray, where: str) -> None:
    """Refuse values that an integer or boolean column would not hold as they are: NaN,
    fractions, numbers out of the dtype's range, text."""
    try:
        source = np.asarray(column)
    except ValueError:
        source = np.asarray(column, dtype=object)
    if source.dtype == array.dtype:
        return
    if source.dtype.kind in "OUSV":
        raise ValueError(f"a value{where} is not a number (it has dtype {source.dtype})")
    with np.errstate(invalid="ignore"):
        same = np.equal(array, source)
    if not same.all():
        row = int(np.flatnonzero(~same.reshape(len(column), -1).all(axis=1))[0])
        raise ValueError(
            f"a value{where} ({column[row]!r}) is not exactly a {array.dtype} value: "
            "NaN, a fraction or a number out of range"
        )


def _leaf_stacker(leaf: Leaf) -> Callable[[Sequence[Any]], np.ndarray]:
    dtype, shape = leaf.dtype, leaf.shape
    exact = dtype.kind in "iub"
    row_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    where = f" at {path_name(leaf.path)!r}" if leaf.path else ""

    if leaf.is_text:

        def stack_text(column: Sequence[Any]) -> np.ndarray:
            array = np.empty(len(column), dtype=object)
            array[:] = [str(v) for v in column]
            return array

        return stack_text
    if not shape:

        def stack_scalars(column: Sequence[Any]) -> np.ndarray:
            try:
                array = np.array(column, dtype=dtype)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"a value{where} is not a {dtype} scalar: {exc}") from None
            if array.shape != (len(column),):
                bad = next((np.shape(v) for v in column if np.shape(v) != ()), array.shape[1:])
                raise ValueError(f"a value{where} has shape {bad}, the space wants a scalar")
            if exact and column:
                _check_exact(column, array, where)
            return array

        return stack_scalars

    def stack_leaf(column: Sequence[Any]) -> np.ndarray:
        if not column:
            return np.empty((0, *shape), dtype=dtype)
        if set(map(type, column)) == _BYTES:
            joined = b"".join(column)
            if len(joined) == row_bytes * len(column):
                return np.frombuffer(joined, dtype=dtype).reshape(len(column), *shape)
        column = [
            np.frombuffer(v, dtype=dtype).reshape(shape) if type(v) is bytes else v for v in column
        ]
        bad = next((v for v in column if np.shape(v) != shape), _FITS)
        if bad is not _FITS:
            what = "is None" if bad is None else f"has shape {np.shape(bad)}"
            raise ValueError(f"a value{where} {what}, the space wants {shape}")
        try:
            with np.errstate(invalid="ignore"):  # NaN into integers: refused just below
                array = np.asarray(column, dtype=dtype)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"a value{where} cannot be read as {dtype} values of shape {shape}: {exc}"
            ) from None
        if exact:
            _check_exact(column, array, where)
        return array

    return stack_leaf


def stacker(space: spaces.Space) -> Callable[[Sequence[Any]], dict[tuple[str, ...], np.ndarray]]:
    """A function stacking captured values into one array per leaf (``ValueError`` on a misfit)."""
    parts = [(leaf.path, _getter(leaf.path, space), _leaf_stacker(leaf)) for leaf in leaves(space)]
    if len(parts) == 1 and parts[0][0] == ():
        only = parts[0][2]
        return lambda values: {(): only(values)}

    def stack_all(values: Sequence[Any]) -> dict[tuple[str, ...], np.ndarray]:
        return {path: stack_leaf([get(v) for v in values]) for path, get, stack_leaf in parts}

    return stack_all


def stack(space: spaces.Space, values: Sequence[Any]) -> dict[tuple[str, ...], np.ndarray]:
    """One array per leaf, row ``i`` holding ``values[i]``; raises ``ValueError`` on a misfit."""
    capture_value = capture(space)
    return stacker(space)([capture_value(v) for v in values])


def empty(space: spaces.Space) -> dict[tuple[str, ...], np.ndarray]:
    """Zero-row columns of ``space``."""
    return {leaf.path: np.empty((0, *leaf.shape), dtype=leaf.dtype) for leaf in leaves(space)}


def _scalar(array: np.ndarray, row: int, leaf: Leaf) -> Any:
    value = array[row]
    if leaf.is_text:
        return str(value)
    return value


def value_at(space: spaces.Space, columns: Mapping[tuple[str, ...], np.ndarray], row: int) -> Any:
    """Rebuild row ``row`` as a value of ``space`` (Dict -> dict, Tuple -> tuple)."""
    return _assemble(space, (), lambda leaf: _scalar(columns[leaf.path], row, leaf))


def nest(space: spaces.Space, columns: Mapping[tuple[str, ...], Any]) -> Any:
    """Whole columns arranged as the space is: an array, or nested dicts (Tuple: int keys)."""
    if isinstance(space, spaces.Dict):
        return {key: nest_sub(sub, columns, (key_name(key),)) for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return {i: nest_sub(sub, columns, (str(i),)) for i, sub in enumerate(space.spaces)}
    return columns[()]


def nest_sub(
    space: spaces.Space, columns: Mapping[tuple[str, ...], Any], path: tuple[str, ...]
) -> Any:
    if isinstance(space, spaces.Dict):
        return {
            key: nest_sub(sub, columns, path + (key_name(key),))
            for key, sub in space.spaces.items()
        }
    if isinstance(space, spaces.Tuple):
        return {i: nest_sub(sub, columns, path + (str(i),)) for i, sub in enumerate(space.spaces)}
    return columns[path]


def _assemble(space: spaces.Space, path: tuple[str, ...], get: Callable[[Leaf], Any]) -> Any:
    if isinstance(space, spaces.Dict):
        return {
            key: _assemble(sub, path + (key_name(key),), get) for key, sub in space.spaces.items()
        }
    if isinstance(space, spaces.Tuple):
        return tuple(_assemble(sub, path + (str(i),), get) for i, sub in enumerate(space.spaces))
    dtype = TEXT if isinstance(space, spaces.Text) else np.dtype(space.dtype)
    return get(Leaf(path, space, dtype, ()))
