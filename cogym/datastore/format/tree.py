"""The two places a shard's arrays live: an HDF5 file, or memory (a journal being read).

Both are trees of named arrays with attributes, addressed by ``/``-separated paths; the
layout code reads and builds shards through this small interface and never imports h5py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

__all__ = ["MemoryTree", "Tree"]


class Tree(Protocol):
    """Read access to a shard's arrays and attributes."""

    def has(self, path: str) -> bool: ...

    def is_array(self, path: str) -> bool: ...

    def children(self, path: str) -> list[str]: ...

    def attrs(self, path: str) -> dict[str, Any]: ...

    def read(self, path: str, selection: slice | None = None) -> np.ndarray:
        """The array at ``path`` (rows ``selection`` only); strings come as ``str`` objects."""
        ...

    def rows(self, path: str) -> int: ...


class MemoryTree:
    """A tree of NumPy arrays in memory: what the writer builds and a journal reads back as."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.attributes: dict[str, dict[str, Any]] = {"": {}}

    def put(self, path: str, array: np.ndarray) -> None:
        self.arrays[path] = array
        parts = path.split("/")
        for i in range(1, len(parts)):
            self.attributes.setdefault("/".join(parts[:i]), {})

    def set_attrs(self, path: str, **values: Any) -> None:
        self.attributes.setdefault(path, {}).update(values)

    def has(self, path: str) -> bool:
        return path in self.arrays or path in self.attributes

    def is_array(self, path: str) -> bool:
        return path in self.arrays

    def children(self, path: str) -> list[str]:
        prefix = f"{path}/" if path else ""
        seen: dict[str, None] = {}
        for name in [*self.arrays, *self.attributes]:
            if name.startswith(prefix) and name != path:
                seen[name[len(prefix) :].split("/")[0]] = None
        return [n for n in seen if n]

    def attrs(self, path: str) -> dict[str, Any]:
        return dict(self.attributes.get(path, {}))

    def read(self, path: str, selection: slice | None = None) -> np.ndarray:
        array = self.arrays[path]
        return array if selection is None else array[selection]

    def rows(self, path: str) -> int:
        return len(self.arrays[path])

    def walk(self) -> Iterator[tuple[str, np.ndarray]]:
        yield from self.arrays.items()

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays.values())
