"""``NO_LABEL``: what a teacher answers when it declines to label a state.

A teacher (:mod:`cogym.learn.teacher`) that was asked to label a state and gives no label,
such as a person who pressed no key within the tick (:mod:`cogym.web.teacher`), returns
:data:`NO_LABEL`; the tick is then *unlabelled*, never learnt as a label of "no-op".
"""

from __future__ import annotations

from typing import Final

__all__ = ["NO_LABEL"]


class _NoLabel:
    """The type of :data:`NO_LABEL` (one instance, which pickling keeps)."""

    def __repr__(self) -> str:
        return "NO_LABEL"

    def __reduce__(self) -> str:
        return "NO_LABEL"


NO_LABEL: Final = _NoLabel()
"""What a teacher's ``label`` returns when it declines to label a state."""
