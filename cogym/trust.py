"""What running a spec would load: the modules it imports and the model files it unpickles.

A spec names code: ``python:<module>:<factory>`` and ``pettingzoo:<module>:<env fn>`` import a
module and call a function of it with the spec's config, ``gym:<module>:<id>`` imports a module,
``sb3:`` unpickles a model file (which can hold any code), an entry-point name loads an installed
package's code. A spec that comes from elsewhere, such as one recorded in a datastore someone
sent, is code from elsewhere: :func:`refuse_untrusted` lists what it would load before anything
is imported, and refuses unless the caller said it trusts it.

Loading an SB3 file warns once per process (:func:`warn_pickled_code`), in one plain sentence,
and not for a model this process saved (:func:`note_saved_model`); worker processes take over
their parent's state (:func:`pickle_warning_state`), so a run warns once, not once per worker.

    >>> from cogym import TrialSpec
    >>> spec = TrialSpec.from_dict({"environment": {"implementation": "python:mygame:make"},
    ...                             "actors": [{"name": "p", "implementation": "random"}]})
    >>> [str(load) for load in loads_of(spec)]
    ["environment: imports module 'mygame' and calls its make(**config)"]
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cogym.errors import PickledCodeWarning, UntrustedCodeError
from cogym.spec import TrialSpec

__all__ = [
    "PICKLE_WARNING",
    "Load",
    "PickleWarningState",
    "loads_of",
    "note_saved_model",
    "pickle_warning_state",
    "refuse_untrusted",
    "replay_loads",
    "restore_pickle_warning_state",
    "warn_pickled_code",
]

PICKLE_WARNING = (
    "Stable-Baselines3 model files hold pickled Python code that runs when they are loaded; "
    "load them only from places you trust."
)


@dataclass(frozen=True)
class PickleWarningState:
    """Whether this process said :data:`PICKLE_WARNING`, and the sha256 of the models it saved."""

    warned: bool
    saved: frozenset[str]


_state = PickleWarningState(False, frozenset())


def note_saved_model(data: bytes) -> None:
    """Remember that this process saved the model file ``data``: loading it back is no warning."""
    global _state  # noqa: PLW0603  (one state per process)
    digest = hashlib.sha256(data).hexdigest()
    _state = PickleWarningState(_state.warned, _state.saved | {digest})


def pickle_warning_state() -> PickleWarningState:
    """This process's state, for a worker process to take over with
    :func:`restore_pickle_warning_state`."""
    return _state


def restore_pickle_warning_state(state: PickleWarningState) -> None:
    """Take over a parent process's state (what it warned about and the models it saved)."""
    global _state  # noqa: PLW0603  (one state per process)
    _state = PickleWarningState(_state.warned or state.warned, _state.saved | state.saved)


def warn_pickled_code(data: bytes | None = None) -> None:
    """Say :data:`PICKLE_WARNING` once per process, unless ``data`` is a model it saved.

    The warning goes through :mod:`warnings` (category
    :class:`~cogym.errors.PickledCodeWarning`, so filters silence it) and prints as one line,
    ``warning: <sentence>``, without the file and source line of Python's default format.
    """
    global _state  # noqa: PLW0603  (one state per process)
    if _state.warned:
        return
    if data is not None and hashlib.sha256(data).hexdigest() in _state.saved:
        return
    _state = PickleWarningState(True, _state.saved)
    _format_plainly()
    warnings.warn(PICKLE_WARNING, PickledCodeWarning, stacklevel=2)


def _format_plainly() -> None:
    """Make :func:`warnings.formatwarning` print a :class:`PickledCodeWarning` as one line,
    leaving every other warning to the format installed before."""
    if getattr(warnings.formatwarning, "_cogym_plain", False):
        return
    before = warnings.formatwarning

    def formatwarning(message, category, filename, lineno, line=None):  # noqa: ANN001, ANN202
        if isinstance(category, type) and issubclass(category, PickledCodeWarning):
            return f"warning: {message}\n"
        return before(message, category, filename, lineno, line)

    formatwarning._cogym_plain = True  # type: ignore[attr-defined]
    warnings.formatwarning = formatwarning


_SAFE = {"random", "external", "human"}
"""Implementations cogym itself provides, which load nothing a spec names."""
_SAFE_PYTHON = {"python:cogym.datastore.replay:Watcher"}
"""cogym's own stand-ins, which a replay puts in place of the recorded actors."""


@dataclass(frozen=True)
class Load:
    """One thing a spec would load: ``who`` (``environment``, ``actor 'p'``) and what it does."""

    who: str
    kind: str
    """``module``, ``model file``, ``registry model``, ``entry point`` or ``implementation``."""
    target: str
    does: str

    def __str__(self) -> str:
        return f"{self.who}: {self.does}"


def _python(who: str, rest: str) -> Load:
    module, _, factory = rest.partition(":")
    return Load(
        who, "module", module, f"imports module {module!r} and calls its {factory}(**config)"
    )


def _implementation(who: str, implementation: str, environment: bool) -> Load | None:
    scheme, sep, rest = implementation.partition(":")
    if not sep:
        if implementation in _SAFE and not environment:
            return None
        return Load(
            who,
            "entry point",
            implementation,
            f"loads {implementation!r}, registered by an installed package's entry point",
        )
    if implementation in _SAFE_PYTHON:
        return None
    if scheme in ("python", "pettingzoo"):
        return _python(who, rest)
    if scheme == "gym":
        module, colon, _ = rest.partition(":")
        if not colon:
            return None  # an id that an installed package registered already
        return Load(who, "module", module, f"imports module {module!r} to make {rest!r}")
    if scheme == "sb3":
        kind = "model file" if rest.endswith(".zip") or Path(rest).is_file() else "registry model"
        return Load(
            who,
            kind,
            rest,
            f"unpickles the Stable-Baselines3 {kind} {rest!r} (a pickle can run any code)",
        )
    return Load(who, "implementation", implementation, f"builds {implementation!r}")


def loads_of(spec: TrialSpec, *, actors: bool = True) -> list[Load]:
    """What building ``spec``'s environment (and, with ``actors``, its actors) would load."""
    found = [_implementation("environment", spec.environment.implementation, True)]
    if actors:
        found += [
            _implementation(f"actor {a.name!r}", a.implementation, False) for a in spec.actors
        ]
    return [load for load in found if load is not None]


def replay_loads(spec: TrialSpec) -> list[Load]:
    """What replaying a trial recorded with ``spec`` loads: its environment's code.

    A replay feeds the actors' recorded actions and puts cogym's own stand-in in place of
    observers, so no actor implementation is built (:mod:`cogym.datastore.replay`).
    """
    return loads_of(spec, actors=False)


def refuse_untrusted(loads: Iterable[Load], *, doing: str, trust_with: str) -> None:
    """Raise :class:`~cogym.errors.UntrustedCodeError` listing ``loads``, if there are any.

    ``doing`` says what would load them (``replaying trial X``); ``trust_with`` how to say
    that the source is trusted (``--trust``, ``trust=True``).
    """
    loads = list(loads)
    if not loads:
        return
    lines = [f"{doing} would load code named by a spec that may come from elsewhere:"]
    lines += [f"  - {load}" for load in loads]
    lines.append(
        "Nothing has been imported or loaded. A datastore or spec from someone else can name any "
        f"module or model file: go on only if you trust where it came from, with {trust_with}"
    )
    raise UntrustedCodeError("\n".join(lines), loads)
