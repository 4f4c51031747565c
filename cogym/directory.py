"""Where implementations are found by name, as Gymnasium's registry finds envs.

Built in here: the actors ``random``, ``external`` and ``python:<module>:<factory>``, and the
environments ``python:<module>:<factory>``. Everything else comes the way another package adds
names, through entry points (see :mod:`cogym.plugins`), including cogym's own: the ``human``
actor (:mod:`cogym.web`), the ``sb3:`` scheme (:mod:`cogym.registry.actors`), the ``gym:`` and
``pettingzoo:`` schemes and the adapters that turn Gymnasium and PettingZoo envs into
environments (:mod:`cogym.wrappers`). So this module imports nothing above it, and a package's
names cost nothing until one is looked up::

    [project.entry-points."cogym.actors"]
    greedy = "mybots:GreedyBot"

    [project.entry-points."cogym.actor_schemes"]
    mymodels = "mybots:MODEL_SCHEME"          # an ActorScheme, or a resolver

In a process, :func:`register_actor` / :func:`register_environment` (and the scheme and
adapter registrations of :class:`Directory`) add names too, and win over entry points. A factory
is called with the spec's ``config`` as keyword arguments; a factory that declares an
``actor_class`` parameter also receives the :class:`~cogym.environment.ActorClass`.
"""

from __future__ import annotations

import importlib
import inspect
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cogym.actors import EXTERNAL, RandomActor
from cogym.environment import ActorClass, Environment
from cogym.errors import (
    ArgumentError,
    CogymError,
    ConfigError,
    ImplementationError,
    UnknownImplementationError,
    suggest,
)
from cogym.model_source import ModelSource
from cogym.plugins import (
    ACTOR_GROUP,
    ACTOR_SCHEME_GROUP,
    ENVIRONMENT_ADAPTER_GROUP,
    ENVIRONMENT_GROUP,
    ENVIRONMENT_SCHEME_GROUP,
    LazyEntryPoint,
    entry_points,
    reinstall_hint,
)

__all__ = [
    "ActorScheme",
    "BuiltActor",
    "Directory",
    "EnvironmentAdapter",
    "as_environment",
    "call_factory",
    "directory",
    "import_object",
    "register_actor",
    "register_environment",
]


@dataclass(frozen=True)
class BuiltActor:
    """An actor built from its implementation string."""

    actor: Any
    implementation: str
    """The implementation as resolved (for instance a registry ref with its version)."""
    trusted: bool = False
    """Whether its actions are in its space by construction, so the trial need not check them."""


ActorResolver = Callable[[str, ActorClass, dict[str, Any], ModelSource | None], BuiltActor]
"""``resolver(rest, actor_class, config, registry)`` builds the actor ``<scheme>:<rest>``."""
Pin = Callable[[str, ModelSource | None], str]
"""``pin(rest, registry)``: ``rest`` with what may change between trials fixed."""
EnvironmentResolver = Callable[[str, dict[str, Any]], Environment]
"""``resolver(rest, config)`` builds the environment ``<scheme>:<rest>``."""


@dataclass(frozen=True)
class ActorScheme:
    """How actors ``<scheme>:<rest>`` are built; what a ``cogym.actor_schemes`` entry point names.

    ``pin(rest, registry)``, if given, is called before every trial and returns ``rest`` with
    anything that may change between trials fixed (``model@latest`` -> ``model@7``), so that
    each trial runs, and records, one exact implementation.
    """

    resolve: ActorResolver
    pin: Pin | None = None


@dataclass(frozen=True)
class EnvironmentAdapter:
    """Turns what an environment factory built into an :class:`Environment`.

    ``adapt(made)`` returns the environment, or ``None`` when ``made`` is not its kind;
    ``accepts`` names that kind in error messages (``"a Gymnasium env"``). What a
    ``cogym.environment_adapters`` entry point names.
    """

    accepts: str
    adapt: Callable[[Any], Environment | None]


def _loaded(table: dict[str, Any], name: str) -> Any:
    """``table[name]``, with an entry point put there loaded (and replaced by its object)."""
    item = table[name]
    if isinstance(item, LazyEntryPoint):
        item = table[name] = item.load()
    return item


class Directory:
    """Maps implementation names to factories; :data:`directory` is the one cogym uses."""

    def __init__(self) -> None:
        self._actors: dict[str, Callable[..., Any] | LazyEntryPoint] = {}
        self._environments: dict[str, Callable[..., Any] | LazyEntryPoint] = {}
        self._actor_schemes: dict[str, ActorScheme | ActorResolver | LazyEntryPoint] = {}
        self._environment_schemes: dict[str, EnvironmentResolver | LazyEntryPoint] = {}
        self._adapters: dict[str, EnvironmentAdapter | LazyEntryPoint] = {}
        self._entry_points_loaded = False

    # -- registration -------------------------------------------------------------------------

    def register_actor(self, name: str, factory: Callable[..., Any]) -> None:
        """Make ``name`` an actor implementation built by ``factory(**config)``."""
        self._check_name(name)
        self._actors[name] = factory

    def register_environment(self, name: str, factory: Callable[..., Any]) -> None:
        """Make ``name`` an environment built by ``factory(**config)`` (any kind an adapter
        takes, or a cogym environment)."""
        self._check_name(name)
        self._environments[name] = factory

    def register_actor_scheme(
        self, scheme: str, resolver: ActorResolver, pin: Pin | None = None
    ) -> None:
        """Handle actors ``<scheme>:<rest>`` with ``resolver(rest, actor_class, config, registry)``.

        ``pin`` fixes moving references before every trial (see :class:`ActorScheme`).
        """
        self._check_name(scheme)
        self._actor_schemes[scheme] = ActorScheme(resolver, pin)

    def register_environment_scheme(self, scheme: str, resolver: EnvironmentResolver) -> None:
        """Handle environments ``<scheme>:<rest>`` with ``resolver(rest, config)``."""
        self._check_name(scheme)
        self._environment_schemes[scheme] = resolver

    def register_environment_adapter(self, name: str, adapter: EnvironmentAdapter) -> None:
        """Let factories return what ``adapter`` turns into an environment."""
        self._check_name(name)
        self._adapters[name] = adapter

    @staticmethod
    def _check_name(name: str) -> None:
        if not name or ":" in name or any(c.isspace() for c in name):
            raise ArgumentError(
                f"implementation name {name!r} must be non-empty, without ':' or spaces"
            )

    # -- lookup -------------------------------------------------------------------------------

    def known_actors(self) -> list[str]:
        self._load_entry_points()
        return sorted([EXTERNAL, *self._actors, *(f"{s}:..." for s in self._actor_schemes)])

    def known_environments(self) -> list[str]:
        self._load_entry_points()
        return sorted([*self._environments, *(f"{s}:..." for s in self._environment_schemes)])

    def has_actor(self, implementation: str) -> bool:
        if implementation == EXTERNAL:
            return True
        scheme, sep, _ = implementation.partition(":")
        if sep:
            return self._find(self._actor_schemes, scheme)
        return self._find(self._actors, implementation)

    def has_environment(self, implementation: str) -> bool:
        scheme, sep, _ = implementation.partition(":")
        if sep:
            return self._find(self._environment_schemes, scheme)
        return self._find(self._environments, implementation)

    def _find(self, table: dict[str, Any], name: str) -> bool:
        if name not in table:
            self._load_entry_points()
        return name in table

    def _actor_scheme(self, scheme: str) -> ActorScheme | None:
        if not self._find(self._actor_schemes, scheme):
            return None
        found = _loaded(self._actor_schemes, scheme)
        if not isinstance(found, ActorScheme):
            found = self._actor_schemes[scheme] = ActorScheme(found)
        return found

    def pins(self, implementation: str) -> bool:
        """Whether ``implementation`` must be pinned before each trial."""
        scheme, sep, _ = implementation.partition(":")
        found = self._actor_scheme(scheme) if sep else None
        return found is not None and found.pin is not None

    def pin(self, implementation: str, registry: ModelSource | None = None) -> str:
        """``implementation`` with moving references fixed (see :class:`ActorScheme`)."""
        scheme, sep, rest = implementation.partition(":")
        found = self._actor_scheme(scheme) if sep else None
        if found is None or found.pin is None:
            return implementation
        return f"{scheme}:{found.pin(rest, registry)}"

    def make_actor(
        self,
        implementation: str,
        actor_class: ActorClass,
        config: dict[str, Any] | None = None,
        *,
        registry: ModelSource | None = None,
    ) -> BuiltActor:
        """Build the actor named by ``implementation``."""
        config = dict(config or {})
        if implementation == EXTERNAL:
            raise ImplementationError("external actors have no object; the adapters drive them")
        scheme, sep, rest = implementation.partition(":")
        if sep:
            found = self._actor_scheme(scheme)
            if found is not None:
                return found.resolve(rest, actor_class, config, registry)
        elif self._find(self._actors, implementation):
            factory = _loaded(self._actors, implementation)
            actor = call_factory(factory, config, actor_class, f"actor {implementation!r}")
            return BuiltActor(actor, implementation, trusted=isinstance(actor, RandomActor))
        raise UnknownImplementationError(
            "actor", implementation, self.known_actors(), hint=reinstall_hint().strip()
        )

    def make_environment(
        self, implementation: str, config: dict[str, Any] | None = None
    ) -> Environment:
        """Build the environment named by ``implementation``."""
        config = dict(config or {})
        scheme, sep, rest = implementation.partition(":")
        if sep:
            if self._find(self._environment_schemes, scheme):
                return _loaded(self._environment_schemes, scheme)(rest, config)
        elif self._find(self._environments, implementation):
            factory = _loaded(self._environments, implementation)
            made = call_factory(factory, config, None, f"environment {implementation!r}")
            return self.as_environment(made, implementation)
        raise UnknownImplementationError(
            "environment", implementation, self.known_environments(), hint=reinstall_hint().strip()
        )

    def as_environment(self, made: Any, implementation: str) -> Environment:
        """What a factory returned, as an environment: itself, or through an adapter."""
        if isinstance(made, Environment):
            return made
        self._load_entry_points()
        adapters = [_loaded(self._adapters, name) for name in sorted(self._adapters)]
        for adapter in adapters:
            environment = adapter.adapt(made)
            if environment is not None:
                return environment
        kinds = [adapter.accepts for adapter in adapters] + ["a cogym Environment"]
        expected = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " or " + kinds[-1]
        raise ImplementationError(
            f"environment {implementation!r} built a {type(made).__name__}; expected "
            f"{expected}.{reinstall_hint()}"
        )

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        tables: dict[str, dict[str, Any]] = {
            ACTOR_GROUP: self._actors,
            ENVIRONMENT_GROUP: self._environments,
            ACTOR_SCHEME_GROUP: self._actor_schemes,
            ENVIRONMENT_SCHEME_GROUP: self._environment_schemes,
            ENVIRONMENT_ADAPTER_GROUP: self._adapters,
        }
        for group, found in entry_points(tables).items():
            for name, entry_point in found.items():
                tables[group].setdefault(name, entry_point)


def call_factory(
    factory: Callable[..., Any], config: dict[str, Any], actor_class: ActorClass | None, what: str
) -> Any:
    """``factory(**config)`` (plus ``actor_class=`` if it takes one), with errors explained.

    ``what`` names the implementation in messages: a config that does not fit the factory's
    parameters lists them, and an exception the factory raises is chained to an
    :class:`~cogym.errors.ImplementationError`.
    """
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
            raise ConfigError(
                f"could not build {what} with config {config}: {exc}. Its parameters are: "
                f"{', '.join(accepted) if accepted else '(none)'}"
            ) from None
    try:
        return factory(**kwargs)
    except CogymError:
        raise
    except Exception as exc:
        # with a config, the likeliest cause is a value in it that the factory refuses
        error = ConfigError if config else ImplementationError
        raise error(f"building {what} with config {config} raised {exc!r}") from exc


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
            f"{what}: cannot import module {module_name!r} ({exc}); is it installed and on "
            "sys.path?"
        ) from exc
    except Exception as exc:  # the module itself raised (or does not compile) while importing
        detail = exc.msg if isinstance(exc, SyntaxError) else exc
        raise ImplementationError(
            f"{what}: importing module {module_name!r} raised {type(exc).__name__}: {detail} "
            f"(at {_where(exc)}); fix the module so that it imports"
        ) from exc
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            public = [n for n in dir(module) if not n.startswith("_")]
            raise ImplementationError(
                f"{what}: module {module_name!r} has no attribute {attribute!r}."
                f"{suggest(part, public)}"
            ) from None
    return target


def _where(exc: Exception) -> str:
    """The file and line where ``exc`` was raised (for a SyntaxError: where the error is)."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}, line {exc.lineno}"
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename}, line {frames[-1].lineno}" if frames else "unknown place"


# -- built-in names --------------------------------------------------------------------------


def _python_actor(
    rest: str, actor_class: ActorClass, config: dict[str, Any], registry: ModelSource | None
) -> BuiltActor:
    factory = import_object(rest, f"actor implementation 'python:{rest}'")
    actor = call_factory(factory, config, actor_class, f"actor 'python:{rest}'")
    if not callable(getattr(actor, "act", None)):
        raise ImplementationError(
            f"actor 'python:{rest}' built a {type(actor).__name__}, which has no "
            "act(observation) method"
        )
    return BuiltActor(actor, f"python:{rest}")


def _python_environment(rest: str, config: dict[str, Any]) -> Environment:
    factory = import_object(rest, f"environment 'python:{rest}'")
    made = call_factory(factory, config, None, f"environment 'python:{rest}'")
    return directory.as_environment(made, f"python:{rest}")


def _random_actor(actor_class: ActorClass) -> RandomActor:
    if actor_class.action_space is None:
        raise ImplementationError(
            f"a random actor needs an action space, and actor class {actor_class.name!r} has none"
        )
    return RandomActor(actor_class.action_space)


directory = Directory()
"""The directory that trials resolve implementations in."""

directory.register_actor("random", _random_actor)
directory.register_actor_scheme("python", _python_actor)
directory.register_environment_scheme("python", _python_environment)

register_actor = directory.register_actor
register_environment = directory.register_environment
as_environment = directory.as_environment
"""What a factory returned, as an environment (see :meth:`Directory.as_environment`)."""
