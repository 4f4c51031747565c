"""Ranges of versions in implementation strings: ``sb3:c4@1..10`` is every published version
of ``c4`` from 1 to 10 (``@5..`` from 5 on, ``@..5`` up to 5), for commands that compare many
versions, such as ``cogym compare``.

    >>> is_range("sb3:c4@1..10"), is_range("sb3:c4@3")
    (True, False)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cogym.errors import InputError
from cogym.registry.names import check_name

if TYPE_CHECKING:
    from cogym.registry.store import ModelRegistry

__all__ = ["expand_ranges", "is_range"]

_RANGE = re.compile(r"^(?P<prefix>[a-z][a-z0-9_]*:)(?P<name>[^@]+)@(?P<lo>\d*)\.\.(?P<hi>\d*)$")


def is_range(implementation: str) -> bool:
    """Whether ``implementation`` names a range of versions (``scheme:name@lo..hi``)."""
    return _RANGE.match(implementation) is not None


def expand_ranges(
    implementations: Sequence[str], registry: ModelRegistry | None
) -> list[str]:
    """``implementations`` with each range replaced by one entry per published version in it."""
    out: list[str] = []
    for implementation in implementations:
        match = _RANGE.match(implementation)
        if match is None:
            out.append(implementation)
            continue
        if registry is None:
            raise InputError(
                f"{implementation!r} names versions in a model registry, but none is "
                "configured: pass --registry DIR (or registry=... in Python)"
            )
        name = check_name(match["name"])
        lo = int(match["lo"]) if match["lo"] else 1
        hi = int(match["hi"]) if match["hi"] else None
        if hi is not None and hi < lo:
            raise InputError(f"{implementation!r}: the range {lo}..{hi} is empty; write low..high")
        versions = registry.versions(name)
        chosen = [v for v in versions if v >= lo and (hi is None or v <= hi)]
        if not chosen:
            raise InputError(
                f"{implementation!r}: model {name!r} has no published version in "
                f"{lo}..{'' if hi is None else hi} (it has {', '.join(map(str, versions))})"
            )
        out += [f"{match['prefix']}{name}@{v}" for v in chosen]
    return out
