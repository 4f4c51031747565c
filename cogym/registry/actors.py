"""The ``sb3:`` actor implementation: a model file, or a model in the registry.

- ``sb3:path/to/model.zip`` — a file saved with ``model.save(...)`` (used when the file exists);
- ``sb3:cartpole-ppo@3``, ``sb3:cartpole-ppo@champion``, ``sb3:cartpole-ppo@latest`` or
  ``sb3:cartpole-ppo`` — a version in the orchestrator's registry.

Before every trial the orchestrator *pins* the reference (``@latest`` -> ``@7``), so a version
published while ``cogym run`` is going is picked up at the next trial, and each trial records
the exact version it ran with.

:data:`SB3_SCHEME` is what the ``sb3`` entry point of the ``cogym.actor_schemes`` group names,
so the directory finds this scheme as it finds another package's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cogym.directory import ActorScheme, BuiltActor
from cogym.environment import ActorClass
from cogym.errors import ImplementationError, InputError
from cogym.model_source import RegistryLike
from cogym.registry.names import parse_ref
from cogym.registry.store import ModelRegistry, as_registry

__all__ = ["SB3_SCHEME", "make_sb3_actor", "pin_sb3"]

_FILE_OPTIONS = {"deterministic", "algorithm", "device"}
_REGISTRY_OPTIONS = {"deterministic", "device"}


def make_sb3_actor(
    rest: str, actor_class: ActorClass, config: dict[str, Any], registry: RegistryLike
) -> BuiltActor:
    """Build the actor for ``sb3:<rest>``; the model's spaces must be the actor class's."""
    from cogym.wrappers.sb3_actor import SB3Actor  # Stable-Baselines3 and torch: when used
    from cogym.wrappers.sb3_batch import shared_model

    if _is_file(rest):
        _check_options(rest, config, _FILE_OPTIONS)
        actor = SB3Actor.from_file(rest, **config)
        actor.check_spaces(actor_class)
        return BuiltActor(actor, f"sb3:{rest}")
    _check_options(rest, config, _REGISTRY_OPTIONS)
    models = _registry_for(rest, registry)
    info = models.info(rest)
    info.check_spaces(
        actor_class.observation_space,
        actor_class.action_space,
        expected_by=f"actor class {actor_class.name!r}",
    )
    device = config.get("device", "cpu")
    # the actors of one version share one loaded copy in a process (they only predict)
    model = shared_model(
        ("registry", info.sha256, info.algorithm, device),
        lambda: models.load_version(info, device=device),
    )
    actor = SB3Actor(model, deterministic=config.get("deterministic", True), source=info.ref)
    return BuiltActor(actor, f"sb3:{info.ref}")


def pin_sb3(rest: str, registry: RegistryLike) -> str:
    """``rest`` with ``@latest`` or an alias replaced by the version it means now."""
    if _is_file(rest):
        return rest
    exact = _registry_for(rest, registry).resolve(rest)
    return str(exact)


def _is_file(rest: str) -> bool:
    return Path(rest).expanduser().is_file()


def _registry_for(rest: str, registry: RegistryLike) -> ModelRegistry:
    if "@" not in rest and (rest.endswith(".zip") or "/" in rest or "\\" in rest):
        path = Path(rest).expanduser()
        raise ImplementationError(
            f"sb3:{rest}: the model file {str(path.absolute())!r} does not exist; give the path "
            "of an SB3 .zip file that exists, or a registry reference '<model>@<version, alias "
            "or latest>' with --registry"
        )
    try:
        wanted = parse_ref(rest)
    except InputError as exc:
        raise ImplementationError(
            f"sb3:{rest} is neither an existing model file nor a registry reference "
            f"('<model>@<version, alias or latest>'): {exc}"
        ) from None
    models = as_registry(registry)
    if models is None:
        raise ImplementationError(
            f"sb3:{rest} names model {wanted.name!r} in a model registry, but none is configured: "
            "pass --registry DIR to cogym run, or Orchestrator(registry=...) in Python "
            "(or give the path of an SB3 .zip file instead)"
        )
    return models


def _check_options(rest: str, config: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise ImplementationError(
            f"sb3:{rest}: unknown config key(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


SB3_SCHEME = ActorScheme(make_sb3_actor, pin=pin_sb3)
"""``sb3:<model file>`` and ``sb3:<model>@<ref>``: built from the file or the registry, and
pinned before every trial."""
