"""What running a spec would load: the modules it imports and the model files it unpickles.

A spec names code: ``python:<module>:<factory>`` and ``pettingzoo:<module>:<env fn>`` import a
module and call a function of it with the spec's config, ``gym:<module>:<id>`` imports a module,
``sb3:`` unpickles a model file (which can hold any code), an entry-point name loads an installed
package's code. A spec that comes from elsewhere, such as one recorded in a datastore someone
sent, is code from elsewhere: :func:`refuse_untrusted` lists what it would load before anything
is imported, and refuses unless the caller said it trusts it.

    >>> from cogym import TrialSpec
    >>> spec = TrialSpec.from_dict({"environment": {"implementation": "python:mygame:make"},
    ...                             "actors": [{"name": "p", "implementation": "random"}]})
    >>> [str(load) for load in loads_of(spec)]
    ["environment: imports module 'mygame' and calls its make(**config)"]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cogym.errors import UntrustedCodeError
from cogym.spec import TrialSpec

__all__ = ["Load", "loads_of", "refuse_untrusted", "replay_loads"]

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
