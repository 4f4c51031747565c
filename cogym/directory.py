"""Where implementations are found by name, as Gymnasium's registry finds envs.

Built in: actors ``random``, ``external``, ``human`` (a person in a web page, see
:mod:`cogym.web`), ``sb3:<model>``, ``python:<module>:<factory>``;
environments ``gym:<env id>``, ``pettingzoo:<module>:<env function>``,
``python:<module>:<factory>``. Other packages add names with :func:`register_actor` /
:func:`register_environment`, or without any import through entry points in the groups
``cogym.actors`` and ``cogym.environments``::

    [project.entry-points."cogym.actors"]
    greedy = "mybots:GreedyBot"

A factory is called with the spec's ``config`` as keyword arguments; a factory that declares an
``actor_class`` parameter also receives the :class:`~cogym.environment.ActorClass`.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from cogym.actors import EXTERNAL, RandomActor
from cogym.environment import ActorClass, Environment
from cogym.errors import CogymError, ImplementationError, UnknownImplementationError

__all__ = [
    "Directory",
    "BuiltActor",
    "directory",
    "register_actor",
    "register_environment",
    "as_environment",
]

ACTOR_GROUP = "cogym.actors"
ENVIRONMENT_GROUP = "cogym.environments"


@dataclass(frozen=True)
class BuiltActor:
    """An actor built from its implementation string."""

    actor: Any
    implementation: str
    """The implementation as resolved (for instance a registry ref with its version)."""
    trusted: bool = False
    """Whether its actions are in its space by construction, so the trial need not check them."""


ActorResolver = Callable[[str, ActorClass, dict[str, Any], Any], BuiltActor]
EnvironmentResolver = Callable[[str, dict[str, Any]], Environment]


class Directory:
    """Maps implementation names to factories; :data:`directory` is the one cogym uses."""

    def __init__(self) -> None:
        self._actors: dict[str, Callable[..., Any]] = {}
        self._environments: dict[str, Callable[..., Any]] = {}
        self._actor_schemes: dict[str, ActorResolver] = {}
        self._actor_pins: dict[str, Callable[[str, Any], str]] = {}
        self._environment_schemes: dict[str, EnvironmentResolver] = {}
        self._entry_points_loaded = False

    # -- registration -------------------------------------------------------------------------

    def register_actor(self, name: str, factory: Callable[..., Any]) -> None:
        """Make ``name`` an actor implementation built by ``factory(**config)``."""
        self._check_name(name)
        self._actors[name] = factory

    def register_environment(self, name: str, factory: Callable[..., Any]) -> None:
        """Make ``name`` an environment built by ``factory(**config)`` (Gym, PettingZoo or cogym)."""
        self._check_name(name)
        self._environments[name] = factory

    def register_actor_scheme(
        self, scheme: str, resolver: ActorResolver, pin: Callable[[str, Any], str] | None = None
    ) -> None:
        """Handle implementations ``<scheme>:<rest>`` with ``resolver(rest, actor_class, config, registry)``.

        ``pin(rest, registry)``, if given, is called before every trial and returns ``rest`` with
        anything that may change between trials fixed (``model@latest`` -> ``model@7``), so
        that each trial runs, and records, one exact implementation.
        """
        self._actor_schemes[scheme] = resolver
        if pin is not None:
            self._actor_pins[scheme] = pin
        else:
            self._actor_pins.pop(scheme, None)

    def pins(self, implementation: str) -> bool:
        """Whether ``implementation`` must be pinned before each trial."""
        scheme, sep, _ = implementation.partition(":")
        return bool(sep) and scheme in self._actor_pins

    def pin(self, implementation: str, registry: Any = None) -> str:
        """``implementation`` with moving references fixed (see :meth:`register_actor_scheme`)."""
        scheme, sep, rest = implementation.partition(":")
        pin = self._actor_pins.get(scheme) if sep else None
        return f"{scheme}:{pin(rest, registry)}" if pin is not None else implementation

    def register_environment_scheme(self, scheme: str, resolver: EnvironmentResolver) -> None:
        """Handle environments ``<scheme>:<rest>`` with ``resolver(rest, config)``."""
        self._environment_schemes[scheme] = resolver

    @staticmethod
    def _check_name(name: str) -> None:
        if not name or ":" in name or any(c.isspace() for c in name):
            raise ValueError(f"implementation name {name!r} must be non-empty, without ':' or spaces")

    # -- lookup -------------------------------------------------------------------------------

    def known_actors(self) -> list[str]:
        self._load_entry_points()
        return sorted([EXTERNAL, *self._actors, *(f"{s}:..." for s in self._actor_schemes)])

    def known_environments(self) -> list[str]:
        self._load_entry_points()
        return sorted([*self._environments, *(f"{s}:..." for s in self._environment_schemes)])

    def has_actor(self, implementation: str) -> bool:
        scheme, _, _ = implementation.partition(":")
        if implementation == EXTERNAL or scheme in self._actor_schemes and ":" in implementation:
            return True
        self._load_entry_points()
        return implementation in self._actors

    def has_environment(self, implementation: str) -> bool:
        scheme, _, _ = implementation.partition(":")
        if ":" in implementation and scheme in self._environment_schemes:
            return True
        self._load_entry_points()
        return implementation in self._environments

    def make_actor(
        self,
        implementation: str,
        actor_class: ActorClass,
        config: dict[str, Any] | None = None,
        *,
        registry: Any = None,
    ) -> BuiltActor:
        """Build the actor named by ``implementation``."""
        config = dict(config or {})
        if implementation == EXTERNAL:
            raise ImplementationError("external actors have no object; the adapters drive them")
        scheme, sep, rest = implementation.partition(":")
        if sep and scheme in self._actor_schemes:
            return self._actor_schemes[scheme](rest, actor_class, config, registry)
        if not sep:
            self._load_entry_points()
            factory = self._actors.get(implementation)
            if factory is not None:
                actor = _call_factory(factory, config, actor_class, f"actor {implementation!r}")
                return BuiltActor(actor, implementation, trusted=isinstance(actor, RandomActor))
        raise UnknownImplementationError("actor", implementation, self.known_actors())

    def make_environment(self, implementation: str, config: dict[str, Any] | None = None) -> Environment:
        """Build the environment named by ``implementation``."""
        config = dict(config or {})
        scheme, sep, rest = implementation.partition(":")
        if sep and scheme in self._environment_schemes:
            return self._environment_schemes[scheme](rest, config)
        if not sep:
            self._load_entry_points()
            factory = self._environments.get(implementation)
            if factory is not None:
                made = _call_factory(factory, config, None, f"environment {implementation!r}")
                return as_environment(made, implementation)
        raise UnknownImplementationError(
            "environment", implementation, self.known_environments()
        )

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for group, table in ((ACTOR_GROUP, self._actors), (ENVIRONMENT_GROUP, self._environments)):
            for entry_point in metadata.entry_points(group=group):
                table.setdefault(entry_point.name, _LazyEntryPoint(entry_point))


class _LazyEntryPoint:
    """An entry point loaded on first use, so listing names imports nothing."""

    def __init__(self, entry_point: metadata.EntryPoint) -> None:
        self.entry_point = entry_point
        self._loaded: Callable[..., Any] | None = None

    def load(self) -> Callable[..., Any]:
        if self._loaded is None:
            try:
                self._loaded = self.entry_point.load()
            except Exception as exc:
                raise ImplementationError(
                    f"entry point {self.entry_point.name!r} ({self.entry_point.value}) of group "
                    f"{self.entry_point.group!r} failed to load: {exc!r}"
                ) from exc
        return self._loaded


def _call_factory(
    factory: Callable[..., Any], config: dict[str, Any], actor_class: ActorClass | None, what: str
) -> Any:
    if isinstance(factory, _LazyEntryPoint):
        factory = factory.load()
    if not callable(factory):
        raise ImplementationError(
            f"{what} names a {type(factory).__name__}, which cannot be called; name a class or a "
            "function that builds the object"
        )
    kwargs = dict(config)
    if actor_class is not None and _accepts(factory, "actor_class"):
        kwargs["actor_class"] = actor_class
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        try:
            signature.bind(**kwargs)
        except TypeError as exc:
            accepted = [p for p in signature.parameters if p not in ("self", "actor_class")]
            raise ImplementationError(
                f"could not build {what} with config {config}: {exc}. Its parameters are: "
                f"{', '.join(accepted) if accepted else '(none)'}"
            ) from None
    try:
        return factory(**kwargs)
    except CogymError:
        raise
    except Exception as exc:
        raise ImplementationError(f"building {what} with config {config} raised {exc!r}") from exc


def _accepts(factory: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False


def import_object(reference: str, what: str) -> Any:
    """Import ``<module>:<attribute>`` (the attribute may be dotted)."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ImplementationError(f"{what}: expected '<module>:<name>', got {reference!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImplementationError(
            f"{what}: cannot import module {module_name!r} ({exc}); is it installed and on sys.path?"
        ) from exc
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            public = [n for n in dir(module) if not n.startswith("_")]
            from cogym.errors import suggest

            raise ImplementationError(
                f"{what}: module {module_name!r} has no attribute {attribute!r}."
                f"{suggest(part, public)}"
            ) from None
    return target


def as_environment(made: Any, implementation: str) -> Environment:
    """Wrap what a factory returned (Gymnasium env, PettingZoo env, or environment)."""
    if isinstance(made, Environment):
        return made
    import gymnasium as gym

    if isinstance(made, gym.Env):
        from cogym.wrappers.gym_environment import GymEnvironment

        return GymEnvironment(made)
    from pettingzoo import AECEnv, ParallelEnv

    if isinstance(made, (AECEnv, ParallelEnv)):
        from cogym.wrappers.pettingzoo_environment import PettingZooEnvironment

        return PettingZooEnvironment(made)
    raise ImplementationError(
        f"environment {implementation!r} built a {type(made).__name__}; expected a Gymnasium env, "
        "a PettingZoo env (parallel or AEC) or a cogym Environment"
    )


# -- built-in schemes ------------------------------------------------------------------------


def _python_actor(rest: str, actor_class: ActorClass, config: dict[str, Any], registry: Any) -> BuiltActor:
    factory = import_object(rest, f"actor implementation 'python:{rest}'")
    actor = _call_factory(factory, config, actor_class, f"actor 'python:{rest}'")
    if not callable(getattr(actor, "act", None)):
        raise ImplementationError(
            f"actor 'python:{rest}' built a {type(actor).__name__}, which has no act(observation) method"
        )
    return BuiltActor(actor, f"python:{rest}")


def _sb3_actor(rest: str, actor_class: ActorClass, config: dict[str, Any], registry: Any) -> BuiltActor:
    """``sb3:<model file>`` or ``sb3:<model>@<version, alias or latest>`` in the registry."""
    from cogym.registry.actors import make_sb3_actor

    return make_sb3_actor(rest, actor_class, config, registry)


def _sb3_pin(rest: str, registry: Any) -> str:
    from cogym.registry.actors import pin_sb3

    return pin_sb3(rest, registry)


def _gym_environment(rest: str, config: dict[str, Any]) -> Environment:
    import gymnasium as gym

    from cogym.wrappers.gym_environment import GymEnvironment

    if rest.startswith("cogym/"):
        import cogym.envs  # noqa: F401  (registers the cogym/... ids)
    try:
        env = gym.make(rest, **config)
    except gym.error.Error as exc:
        raise UnknownImplementationError(
            "environment",
            f"gym:{rest}",
            [f"gym:{i}" for i in gym.registry],
            hint=f"({type(exc).__name__}: {exc})",
        ) from None
    except TypeError as exc:
        raise ImplementationError(
            f"could not make gym:{rest} with config {config}: {exc}"
        ) from exc
    return GymEnvironment(env)


def _pettingzoo_environment(rest: str, config: dict[str, Any]) -> Environment:
    factory = import_object(rest, f"environment 'pettingzoo:{rest}'")
    made = _call_factory(factory, config, None, f"environment 'pettingzoo:{rest}'")
    return as_environment(made, f"pettingzoo:{rest}")


def _python_environment(rest: str, config: dict[str, Any]) -> Environment:
    factory = import_object(rest, f"environment 'python:{rest}'")
    made = _call_factory(factory, config, None, f"environment 'python:{rest}'")
    return as_environment(made, f"python:{rest}")


def _random_actor(actor_class: ActorClass) -> RandomActor:
    if actor_class.action_space is None:
        raise ImplementationError(
            f"a random actor needs an action space, and actor class {actor_class.name!r} has none"
        )
    return RandomActor(actor_class.action_space)


def _human_actor(actor_class: ActorClass, **config: Any) -> Any:
    """``human``: a person acting or watching through a web page (the ``web`` extra)."""
    from cogym.web.actor import HumanActor

    return HumanActor(actor_class, **config)


directory = Directory()
"""The directory that trials resolve implementations in."""

directory.register_actor("random", _random_actor)
directory.register_actor("human", _human_actor)
directory.register_actor_scheme("python", _python_actor)
directory.register_actor_scheme("sb3", _sb3_actor, pin=_sb3_pin)
directory.register_environment_scheme("gym", _gym_environment)
directory.register_environment_scheme("pettingzoo", _pettingzoo_environment)
directory.register_environment_scheme("python", _python_environment)

register_actor = directory.register_actor
register_environment = directory.register_environment
