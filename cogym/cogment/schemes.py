"""The ``cogment:`` implementation scheme, for environments and actors.

- ``cogment:grpc://HOST:PORT/IMPL_NAME``: an implementation served with the SDK
  (``context.serve_all_registered``); refused within 5 s, named, when nothing answers there.
- ``cogment:<module>:<impl>``: an ``async def impl(session)`` (environment or actor) of the SDK,
  run in this process; ``<impl>`` may be dotted (``envs:cartpole.impl`` for a cogment-lab
  environment object).

The participant's ``config`` says (unknown keys are refused, listed):

``cog_settings``
    the app's generated settings module (``myapp.cog_settings``,
    ``cogment_lab.generated.cog_settings``): its actor classes and protobuf types. Required.
``codec``
    ``<module>:<Codec>`` mapping protobuf messages to Gymnasium values (see
    :mod:`cogym.cogment.codecs`); by default, :class:`~cogym.cogment.codecs.CogmentLabCodec`
    for apps that follow cogment-lab's convention.
``config``
    the participant's own config message (the environment config or actor class config type of
    ``cog_settings``) in protobuf's JSON form; cogym adds the seed and, for cogment-lab actors,
    the spaces.
``spaces_from`` / ``observation_space`` and ``action_space``
    a Cogment environment's actor spaces with the cogment-lab codec: those of a Gymnasium env
    id, or cogym's JSON form of a space (:func:`cogym.spaces.space_to_dict`). A cogment-lab
    environment object run in-process gives its own.
``actor_class``
    a Cogment actor's class in ``cog_settings`` (default: the one class there, or the class of
    the cogym actor when ``cog_settings`` has it).
``timeout``
    seconds cogym waits for each answer (default 30).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from cogym.cogment.codecs import Codec, CogmentLabCodec, fill_config, space_from_message
from cogym.cogment.participants import DEFAULT_TIMEOUT, CogmentActor, CogmentEnvironment
from cogym.cogment.runtime import background_loop, require_sdk
from cogym.cogment.services import DIAL_TIMEOUT, GrpcService, InProcessService
from cogym.directory import ActorScheme, BuiltActor, import_object
from cogym.environment import ActorClass
from cogym.errors import ConfigError, ImplementationError
from cogym.model_source import ModelSource
from cogym.spaces import space_from_dict

__all__ = ["ACTOR_SCHEME", "make_cogment_actor", "make_cogment_environment"]

_COMMON = {"cog_settings", "codec", "config", "timeout", "impl_name"}
_ENVIRONMENT_KEYS = _COMMON | {"spaces_from", "observation_space", "action_space"}
_ACTOR_KEYS = _COMMON | {"actor_class"}


def _check_keys(config: dict[str, Any], accepted: set[str], what: str) -> None:
    unknown = sorted(set(config) - accepted)
    if unknown:
        raise ConfigError(
            f"{what}: unknown config key(s) {unknown}; a Cogment participant takes "
            f"{sorted(accepted)}"
        )


def _cog_settings(config: dict[str, Any], what: str) -> Any:
    name = config.get("cog_settings")
    if not name:
        raise ConfigError(
            f"{what}: config must name the app's generated settings module, e.g. "
            "'cog_settings: myapp.cog_settings' (cogment-lab: "
            "'cogment_lab.generated.cog_settings')"
        )
    if not isinstance(name, str):
        return name
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ConfigError(f"{what}: cannot import cog_settings module {name!r} ({exc})") from exc


def _service(kind: str, rest: str, config: dict[str, Any], cog_settings: Any, what: str) -> Any:
    if rest.startswith("grpc://"):
        address, slash, impl_name = rest[len("grpc://"):].partition("/")
        host, colon, port = address.rpartition(":")
        if not (slash and impl_name and colon and host and port.isdigit()):
            raise ImplementationError(
                f"{what}: expected 'cogment:grpc://HOST:PORT/IMPL_NAME' (for instance "
                f"'cogment:grpc://127.0.0.1:9001/cartpole'), got 'cogment:{rest}'"
            )
        service = GrpcService(kind, host.strip("[]"), int(port), impl_name)
        background_loop().call(service.connect(DIAL_TIMEOUT), DIAL_TIMEOUT + 1, service.where)
        return service
    if rest.count(":") != 1:
        raise ImplementationError(
            f"{what}: expected 'cogment:grpc://HOST:PORT/IMPL_NAME' or "
            f"'cogment:<module>:<async impl>', got 'cogment:{rest}'"
        )
    impl = import_object(rest, what)
    if not inspect.iscoroutinefunction(impl):
        raise ImplementationError(
            f"{what}: {rest!r} is a {type(impl).__name__}, not an 'async def impl(session)' of "
            "the Cogment SDK"
        )
    impl_name = config.get("impl_name") or rest.rpartition(":")[2]
    return InProcessService(kind, impl, impl_name, cog_settings, rest)


def _codec(config: dict[str, Any], cog_settings: Any, known: dict[str, Any], what: str) -> Codec:
    reference = config.get("codec")
    if reference is None:
        if not CogmentLabCodec.fits(cog_settings):
            raise ConfigError(
                f"{what}: the actor classes of {getattr(cog_settings, '__name__', cog_settings)} "
                "do not follow cogment-lab's convention (observation and action messages with "
                "an nd_array.Array 'value'); give 'codec: <module>:<Codec>' (see "
                "cogym.cogment.codecs.Codec)"
            )
        return CogmentLabCodec(known)
    made = import_object(reference, f"{what} codec")
    try:
        codec = made() if inspect.isclass(made) else made
    except TypeError as exc:  # a Codec subclass that leaves an abstract method out, say
        raise ConfigError(f"{what}: codec {reference!r} could not be made: {exc}") from None
    for method in ("decode_observation", "encode_observation", "decode_action", "encode_action"):
        if not callable(getattr(codec, method, None)):
            raise ConfigError(f"{what}: codec {reference!r} has no {method}() method")
    return codec


def _timeout(config: dict[str, Any], what: str) -> float:
    timeout = config.get("timeout", DEFAULT_TIMEOUT)
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ConfigError(f"{what}: timeout must be a number of seconds > 0, got {timeout!r}")
    return float(timeout)


def _environment_spaces(config: dict[str, Any], service: Any, what: str) -> dict[str, Any]:
    """The actor spaces a cogment-lab environment's config or object gives, by actor name
    (``*`` for every actor)."""
    if "spaces_from" in config:
        import gymnasium as gym

        try:
            env = gym.make(config["spaces_from"])
        except Exception as exc:
            raise ConfigError(
                f"{what}: spaces_from {config['spaces_from']!r} is not a Gymnasium env id that "
                f"builds ({exc})"
            ) from exc
        try:
            return {"*": (env.observation_space, env.action_space)}
        finally:
            env.close()
    if "observation_space" in config:
        try:
            observation = space_from_dict(config["observation_space"])
            action = space_from_dict(config["action_space"]) if "action_space" in config else None
        except Exception as exc:
            raise ConfigError(f"{what}: observation_space / action_space: {exc}") from exc
        return {"*": (observation, action)}
    owner = getattr(getattr(service, "impl", None), "__self__", None)
    specs = getattr(owner, "agent_specs", None)
    if isinstance(specs, dict):
        known = {}
        for name, spec in specs.items():
            message = spec.serialize() if hasattr(spec, "serialize") else spec
            known[name] = (
                space_from_message(message.observation_space),
                space_from_message(message.action_space),
            )
        if len(known) == 1:
            known["*"] = next(iter(known.values()))
        return known
    return {}


def make_cogment_environment(rest: str, config: dict[str, Any]) -> CogmentEnvironment:
    """Build the environment ``cogment:<rest>`` (what the ``cogym.environment_schemes`` entry
    point ``cogment`` names)."""
    require_sdk()
    what = f"environment 'cogment:{rest}'"
    _check_keys(config, _ENVIRONMENT_KEYS, what)
    cog_settings = _cog_settings(config, what)
    timeout = _timeout(config, what)
    service = _service("environment", rest, config, cog_settings, what)
    codec = _codec(config, cog_settings, _environment_spaces(config, service, what), what)
    config_type = getattr(getattr(cog_settings, "environment", None), "config_type", None)
    message = None
    if config_type is not None:
        message = fill_config(config_type, config.get("config"), what)
    elif config.get("config"):
        raise ConfigError(f"{what}: its cog_settings declares no environment config type")
    return CogmentEnvironment(service, cog_settings, codec, message, timeout)


def make_cogment_actor(
    rest: str, actor_class: ActorClass, config: dict[str, Any], registry: ModelSource | None
) -> BuiltActor:
    """Build the actor ``cogment:<rest>`` (the ``cogment`` actor scheme)."""
    require_sdk()
    what = f"actor 'cogment:{rest}'"
    _check_keys(config, _ACTOR_KEYS, what)
    cog_settings = _cog_settings(config, what)
    timeout = _timeout(config, what)
    known = [c.name for c in cog_settings.actor_classes]
    cogment_class = config.get("actor_class")
    if cogment_class is None:
        if actor_class.name in known:
            cogment_class = actor_class.name
        elif len(known) == 1:
            cogment_class = known[0]
    if cogment_class not in known:
        raise ConfigError(
            f"{what}: say which of the actor classes {known} of its cog_settings it plays, "
            "with 'actor_class' in its config"
        )
    service = _service("actor", rest, config, cog_settings, what)
    spaces = {"*": (actor_class.observation_space, actor_class.action_space)}
    codec = _codec(config, cog_settings, spaces, what)
    config_type = cog_settings.actor_classes[cogment_class].config_type
    message = fill_config(config_type, config.get("config"), what) if config_type else None
    actor = CogmentActor(
        service, cog_settings, codec, message, timeout,
        cogment_class=cogment_class, actor_class=actor_class,
    )
    return BuiltActor(actor, f"cogment:{rest}")


ACTOR_SCHEME = ActorScheme(make_cogment_actor)
"""What the ``cogym.actor_schemes`` entry point ``cogment`` names."""
