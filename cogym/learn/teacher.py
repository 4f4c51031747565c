"""Teachers: who labels the states a learner visits (DAgger, active queries).

A teacher is any actor implementation the directory builds (``python:``, ``sb3:<model>@<ref>``,
``random``, registered names). Its label for a state is what its ``act(observation)`` returns,
unless it has a ``label(observation)`` method, which is then asked instead and may return
:data:`NO_LABEL` to decline: a person who pressed no key. A declined tick is *unlabelled*; it
is never learnt as a label of "no-op"::

    >>> class Sometimes:
    ...     def label(self, observation):
    ...         return 1 if observation[0] > 0 else NO_LABEL
    ...     def act(self, observation):
    ...         return 1
    >>> ask(Sometimes(), [-1.0]) is NO_LABEL
    True

A teacher with a ``watch(observation)`` method is also shown the states it is not asked to
label (:func:`show`). ``teacher="human"`` (:data:`HUMAN`) is such a teacher: a person who
watches the learner play on the human actor's page and presses keys to label
(:class:`cogym.web.teacher.HumanTeacher`).
"""

from __future__ import annotations

from typing import Any, Final, Protocol, runtime_checkable

from gymnasium import spaces

from cogym.environment import ActorClass
from cogym.errors import (
    CogymError,
    ConfigError,
    InputError,
    InvalidArgumentError,
    SpaceMismatchError,
)
from cogym.labels import NO_LABEL

__all__ = ["HUMAN", "NO_LABEL", "Teacher", "ask", "build_teacher", "check_teacher", "show"]


HUMAN: Final = "human"
"""The teacher that is a person on the page (:class:`cogym.web.teacher.HumanTeacher`)."""


@runtime_checkable
class Teacher(Protocol):
    """An actor that labels states; ``label(observation)`` (optional) may decline."""

    def act(self, observation: Any) -> Any: ...


def ask(teacher: Any, observation: Any) -> Any:
    """The teacher's label for ``observation``, or :data:`NO_LABEL` if it declined."""
    label = getattr(teacher, "label", None)
    if callable(label):
        return label(observation)
    return teacher.act(observation)


def show(teacher: Any, observation: Any) -> None:
    """Show ``observation`` to a teacher that is not asked to label it, if it ``watch``-es."""
    watch = getattr(teacher, "watch", None)
    if callable(watch):
        watch(observation)


def build_teacher(
    implementation: str,
    actor_class: ActorClass,
    config: dict[str, Any] | None = None,
    registry: Any = None,
) -> Any:
    """Build the teacher named by ``implementation`` for ``actor_class`` through the directory.

    A failure is an :class:`~cogym.errors.InvalidArgumentError` naming ``teacher_config`` when
    the config does not fit the teacher (an unknown key, a value it refuses) and ``teacher``
    otherwise; a teacher built on a model of other spaces is refused naming both spaces.
    """
    from cogym.directory import directory

    if not isinstance(implementation, str) or not implementation:
        raise InvalidArgumentError(
            "teacher", f"expected an implementation string, got {implementation!r}"
        )
    if implementation == "external":
        raise InvalidArgumentError(
            "teacher", "an external teacher has nobody to drive it; name an implementation that "
            "acts by itself, such as python:<module>:<factory> or sb3:<model>@<ref>"
        )
    _check_registered_spaces(implementation, actor_class, registry)
    try:
        if implementation == HUMAN:
            from cogym.web.teacher import HumanTeacher

            return HumanTeacher(actor_class, **dict(config or {}))
        return directory.make_actor(implementation, actor_class, config, registry=registry).actor
    except SpaceMismatchError as exc:
        raise SpaceMismatchError(
            f"teacher {implementation!r} does not fit the learner {actor_class.name!r}: {exc}"
        ) from None
    except ConfigError as exc:
        raise InvalidArgumentError(
            "teacher_config", f"does not fit the teacher {implementation!r}: {exc}"
        ) from None
    except InputError as exc:
        raise InvalidArgumentError(
            "teacher", f"{implementation!r} cannot be built: {exc}"
        ) from None


def _check_registered_spaces(implementation: str, actor_class: ActorClass, registry: Any) -> None:
    """A registry model as teacher: its recorded spaces against the learner's, before loading."""
    from pathlib import Path

    from cogym.registry import as_registry

    scheme, _, rest = implementation.partition(":")
    models = as_registry(registry)
    if scheme != "sb3" or models is None or Path(rest).expanduser().is_file():
        return
    try:
        info = models.info(rest)
    except InputError as exc:
        raise InvalidArgumentError(
            "teacher", f"{implementation!r} cannot be found: {exc}"
        ) from None
    wrong = [
        f"{what} {theirs}, but the learner {actor_class.name!r} {what} {ours}"
        for what, theirs, ours in (
            ("acts in", info.action_space, actor_class.action_space),
            ("observes", info.observation_space, actor_class.observation_space),
        )
        if theirs != ours
    ]
    if wrong:
        raise SpaceMismatchError(
            f"teacher {implementation!r} ({info.ref}) {'; it '.join(wrong)}; give a teacher "
            "trained on the learner's environment"
        )


def check_teacher(
    teacher: Any, implementation: str, actor_class: ActorClass, observation: Any
) -> None:
    """Refuse a teacher whose actions are not the learner's, before any trial runs.

    A teacher that says its ``action_space`` must have the learner's; one that does not is
    asked to label ``observation`` (one the environment gave), and its label must be in the
    learner's action space.
    """
    learner_space = actor_class.action_space
    declared = getattr(teacher, "action_space", None)
    if isinstance(declared, spaces.Space):
        if declared != learner_space:
            raise SpaceMismatchError(
                f"teacher {implementation!r} acts in {declared}, but the learner "
                f"{actor_class.name!r} acts in {learner_space}; give a teacher of the same "
                "action space"
            )
        return
    reset = getattr(teacher, "reset", None)
    if callable(reset) or callable(getattr(teacher, "label", None)):
        # it needs its trial (or a person) to answer: its labels are checked as they come
        return
    try:
        label = teacher.act(observation)
    except CogymError:
        raise
    except Exception as exc:
        raise InvalidArgumentError(
            "teacher",
            f"{implementation!r} raised {exc!r} when asked to label an observation of "
            f"{actor_class.name!r} ({actor_class.observation_space}); is it a teacher for this "
            "environment?",
        ) from exc
    if not _contains(learner_space, label):
        raise SpaceMismatchError(
            f"teacher {implementation!r} answered {label!r}, which is not in the learner "
            f"{actor_class.name!r}'s action space {learner_space} (the teacher declares no "
            "action space of its own); give a teacher of the same action space"
        )


def _contains(space: spaces.Space, value: Any) -> bool:
    from cogym.spaces import membership_check

    try:
        return bool(membership_check(space)(value))
    except (TypeError, ValueError):
        return False
