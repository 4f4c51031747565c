"""Model names, aliases and references (``name``, ``name@3``, ``name@champion``, ``name@latest``).

Names become directory names under the registry's root, so they are checked before any path is
built: letters, digits, ``.``, ``_`` and ``-``, starting with a letter or digit, at most 100
characters. That rules out ``..``, absolute paths, separators and empty names.

    >>> parse_ref("cartpole-ppo@3")
    ModelRef('cartpole-ppo@3')
    >>> parse_ref("cartpole-ppo").ref
    'latest'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cogym.errors import ModelNameError

__all__ = ["LATEST", "ModelRef", "check_alias", "check_name", "parse_ref", "version_ranges"]

LATEST = "latest"
"""The reference that always means the highest published version."""

MAX_NAME_LENGTH = 100
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_ALLOWED = "letters, digits, '.', '_' and '-', starting with a letter or digit"
_RANGE = re.compile(r"\d*\.\.\d*")
"""A range of versions, ``1..3``, ``2..`` or ``..5`` (:mod:`cogym.registry.ranges`)."""


def check_name(name: object, what: str = "model name") -> str:
    """Return ``name`` if it is a valid model name; raise :class:`ModelNameError` saying why not."""
    if not isinstance(name, str):
        raise ModelNameError(f"{what} must be a string, got {type(name).__name__} {name!r}")
    if not name:
        raise ModelNameError(f"{what} is empty; use {_ALLOWED}")
    if "/" in name or "\\" in name:
        absolute = name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name)
        kind = "an absolute path" if absolute else "a path"
        raise ModelNameError(
            f"{what} {name!r} is {kind}: names may not contain '/' or '\\', so that they stay "
            f"inside the registry's root; use {_ALLOWED}"
        )
    if name in (".", "..") or name.startswith("."):
        raise ModelNameError(
            f"{what} {name!r} may not start with '.' ('.' and '..' would leave the model's "
            f"directory, and hidden names are reserved); use {_ALLOWED}"
        )
    if "@" in name:
        raise ModelNameError(
            f"{what} {name!r} contains '@', which separates a name from its version or alias "
            "(as in 'cartpole-ppo@3'); pass the name alone"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise ModelNameError(
            f"{what} {name[:20]!r}... is {len(name)} characters long; "
            f"the limit is {MAX_NAME_LENGTH}"
        )
    if not _NAME.fullmatch(name):
        bad = sorted({c for c in name if not (c.isascii() and (c.isalnum() or c in "._-"))})
        if not bad:  # every character is allowed, but not the first where it stands
            raise ModelNameError(f"{what} {name!r} starts with {name[0]!r}; use {_ALLOWED}")
        raise ModelNameError(
            f"{what} {name!r} contains {', '.join(map(repr, bad))}; use {_ALLOWED}"
        )
    return name


def check_alias(alias: object) -> str:
    """Return ``alias`` if users may set it: a valid name, not ``latest``, not all digits."""
    alias = check_name(alias, "alias")
    if alias == LATEST:
        raise ModelNameError(
            "'latest' is not an alias you can set: it always means the highest published version"
        )
    if alias.isascii() and alias.isdigit():
        raise ModelNameError(
            f"alias {alias!r} is all digits and would read as a version number; add a letter"
        )
    if _RANGE.fullmatch(alias):
        raise ModelNameError(
            f"alias {alias!r} would read as a range of versions (low..high); add a letter"
        )
    return alias


@dataclass(frozen=True)
class ModelRef:
    """A model name with a reference: a version number, an alias, or ``latest``."""

    name: str
    ref: int | str = LATEST

    @property
    def version(self) -> int | None:
        """The version number when the reference is one, else ``None``."""
        return self.ref if isinstance(self.ref, int) else None

    def __str__(self) -> str:
        return f"{self.name}@{self.ref}"

    def __repr__(self) -> str:
        return f"ModelRef({str(self)!r})"


def parse_ref(text: str, ref: int | str | None = None) -> ModelRef:
    """Parse ``name``, ``name@<version>``, ``name@<alias>`` or ``name@latest``.

    ``ref``, if given, is the reference passed separately (``info("cartpole-ppo", 3)``); it
    may not be combined with one inside ``text``.
    """
    if not isinstance(text, str):
        raise ModelNameError(
            f"a model reference must be a string, got {type(text).__name__} {text!r}"
        )
    name, sep, inline = text.partition("@")
    if sep:
        if ref is not None:
            raise ModelNameError(
                f"{text!r} already names a version or alias; do not pass ref={ref!r} as well"
            )
        if not inline:
            raise ModelNameError(
                f"{text!r} ends with '@'; follow it with a version number, an alias or 'latest'"
            )
        ref = inline
    check_name(name)
    return ModelRef(name, _parse_version_or_alias(ref, text))


def _parse_version_or_alias(ref: int | str | None, text: str) -> int | str:
    if ref is None:
        return LATEST
    if isinstance(ref, bool):
        raise ModelNameError(f"version of {text!r} must be a number or an alias, got {ref!r}")
    if isinstance(ref, int):
        if ref < 1:
            raise ModelNameError(f"versions are numbered from 1; {text!r} asks for version {ref}")
        return ref
    if isinstance(ref, str):
        if ref.isascii() and ref.isdigit():
            return _parse_version_or_alias(int(ref), text)
        if ref == LATEST:
            return LATEST
        if _RANGE.fullmatch(ref):
            raise ModelNameError(
                f"{text!r} names a range of versions, which only commands that compare many "
                "versions take (cogym compare, cogym.evaluation.evaluate); here it names one "
                "model: give one version, an alias or 'latest' (e.g. @3)"
            )
        check_name(ref, f"alias in {text!r}")
        return ref
    raise ModelNameError(
        f"version of {text!r} must be a number, an alias or 'latest', "
        f"got {type(ref).__name__} {ref!r}"
    )


def version_ranges(numbers: list[int]) -> str:
    """``1-3, 5, 7-9`` for [1, 2, 3, 5, 7, 8, 9]."""
    parts = []
    start = previous = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == previous + 1:
            previous = n
            continue
        parts.append(f"{start}" if start == previous else f"{start}-{previous}")
        if n is not None:
            start = previous = n
    return "version " + parts[0] if len(numbers) == 1 else "versions " + ", ".join(parts)
