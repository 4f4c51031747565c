"""Runner factories for the pool tests (importable by the worker processes)."""

from __future__ import annotations

from typing import Any


def unbuildable(**settings: Any) -> Any:
    """A runner factory that fails in the worker, before any trial."""
    raise OSError("no room left on the worker's disk")
