"""The orchestrator's casts: built from a spec through the directory, reused between trials.

Building an environment and its actors is the expensive part of starting a trial, so an
orchestrator keeps every :class:`~cogym.trial.Cast` it built and hands an idle one to the next
trial of a spec built the same way (its ``cast_key``); a trial that starts while another of the
same spec runs gets a cast of its own. A spec naming a moving reference (``sb3:model@latest``)
is *pinned* before each trial (``model@7``), and its casts are keyed by the pinned spec: once
``@latest`` moves on, the idle casts of the old version are closed, and so is each busy one
when its trial ends. A spec with ``environment: {rebuild: per_trial}`` gets a cast built for
each trial, closed when the trial ends.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

from cogym.actors import EXTERNAL
from cogym.directory import Directory
from cogym.errors import CloseWarning, ConfigError, InputError, SpecError
from cogym.model_source import ModelSource
from cogym.spec import TrialSpec
from cogym.trial import Cast

__all__ = ["CastCache", "build_cast"]


class CastCache:
    """The casts of one orchestrator, idle ones by key; see the module docstring."""

    def __init__(self, directory: Directory, registry: ModelSource | None) -> None:
        self.directory = directory
        self.registry = registry
        self._idle: dict[str, list[Cast]] = {}
        self._all: list[Cast] = []
        self._pinnable: dict[str, bool] = {}
        self._current_pins: dict[str, str] = {}

    def take(self, spec: TrialSpec) -> tuple[str, Cast]:
        """A cast for a trial of ``spec``, and the key to :meth:`give` it back under."""
        cast_spec = self._pinned(spec)
        key = cast_spec.cast_key
        stack = self._idle.get(key)
        if stack:
            return key, stack.pop()
        cast = build_cast(self.directory, cast_spec, self.registry)
        self._all.append(cast)
        return key, cast

    def give(self, spec: TrialSpec, key: str, cast: Cast) -> None:
        """Take back the cast of a trial of ``spec`` that is over; one of an old pin, of an
        environment rebuilt for every trial, or cut short by a deadline (``cast.spoiled``) is
        closed."""
        stale_pin = (
            self._pinnable.get(spec.cast_key) and self._current_pins.get(spec.cast_key) != key
        )
        if spec.environment.rebuild == "per_trial" or stale_pin or cast.spoiled:
            self._retire(cast)
        else:
            self._idle.setdefault(key, []).append(cast)

    def close(self) -> None:
        """Close every cast built, idle or not; one that raises is a warning, and the others
        are closed all the same."""
        for cast in self._all:
            _close(cast)

    def _pinned(self, spec: TrialSpec) -> TrialSpec:
        """``spec`` with its moving references fixed for one trial (itself when it has none);
        the idle casts of a pin this one replaces are closed."""
        key = spec.cast_key
        pinnable = self._pinnable.get(key)
        if pinnable is None:
            pinnable = self._pinnable[key] = any(
                self.directory.pins(a.implementation) for a in spec.actors
            )
        if not pinnable:
            return spec
        actors = []
        changed = False
        for i, actor in enumerate(spec.actors):
            with _about(f"actors[{i}]"):
                pinned = self.directory.pin(actor.implementation, self.registry)
            changed = changed or pinned != actor.implementation
            actors.append(actor.model_dump(mode="json") | {"implementation": pinned})
        pinned_spec = spec.replace(actors=actors) if changed else spec
        self._retire_stale(key, pinned_spec.cast_key)
        return pinned_spec

    def _retire_stale(self, spec_key: str, pinned_key: str) -> None:
        """Close the idle casts of a spec's previous pin (say ``model@6`` once ``@latest`` is 7)."""
        previous = self._current_pins.get(spec_key)
        self._current_pins[spec_key] = pinned_key
        if previous is not None and previous != pinned_key:
            for cast in self._idle.pop(previous, []):
                self._retire(cast)

    def _retire(self, cast: Cast) -> None:
        self._all.remove(cast)
        _close(cast)


def _close(cast: Cast) -> None:
    """Close a cast whose trials are over: what it raises cannot change their results, so it
    is a :class:`~cogym.errors.CloseWarning` naming the environment, not an error."""
    try:
        cast.close()
    except Exception as exc:  # noqa: BLE001  (a warning that names it; results stand)
        warnings.warn(
            f"closing {cast.environment!r} or its actors raised {type(exc).__name__}: {exc}; the "
            "results of its trials stand, but what it holds (files, windows, processes) may "
            "not have been released",
            CloseWarning,
            stacklevel=2,
        )


def build_cast(directory: Directory, spec: TrialSpec, registry: ModelSource | None) -> Cast:
    """The environment and actors of ``spec``, built through ``directory``.

    If one of them cannot be built, those built so far are closed before the error goes on.
    """
    with _about("environment"):
        environment = directory.make_environment(
            spec.environment.implementation, spec.environment.config
        )
    built: list[Any] = []
    try:
        classes = environment.bind(spec.actors)
        actors: dict[str, Any] = {}
        externals: list[str] = []
        trusted = set()
        implementations = {}
        for i, actor_spec in enumerate(spec.actors):
            if actor_spec.implementation == EXTERNAL:
                externals.append(actor_spec.name)
                implementations[actor_spec.name] = EXTERNAL
                continue
            with _about(f"actors[{i}]"):
                made = directory.make_actor(
                    actor_spec.implementation,
                    classes[actor_spec.name],
                    actor_spec.config,
                    registry=registry,
                )
            built.append(made.actor)
            actors[actor_spec.name] = made.actor
            implementations[actor_spec.name] = made.implementation
            if made.trusted:
                trusted.add(actor_spec.name)
    except BaseException:
        for actor in built:
            close = getattr(actor, "close", None)
            if callable(close):
                close()
        environment.close()
        raise
    return Cast(
        environment,
        classes,
        actors,
        externals=externals,
        trusted=frozenset(trusted),
        implementations=implementations,
    )


@contextlib.contextmanager
def _about(where: str) -> Iterator[None]:
    """Say which spec field a bad-input error raised inside is about: ``where`` plus
    ``.config`` for a config the implementation refuses, else ``.implementation``."""
    try:
        yield
    except InputError as exc:
        if exc.field is None and not isinstance(exc, SpecError):
            part = "config" if isinstance(exc, ConfigError) else "implementation"
            exc.field = f"{where}.{part}"
        raise
