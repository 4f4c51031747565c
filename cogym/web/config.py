"""The ``config`` of a ``human`` actor, as a spec gives it.

Example: a person plays CartPole at 20 ticks/s with their own keys, and watches out for
nothing else::

    actors:
      - name: player
        implementation: human
        config: {rate: 20, on_timeout: repeat, keys: {a: 0, d: 1}}
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from gymnasium import spaces
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cogym.directory import directory
from cogym.environment import ActorClass
from cogym.errors import ConfigError, ImplementationError, PageMessageError, suggest
from cogym.registry import ModelRegistry
from cogym.web.actions import (
    KeyBinding,
    bindings_from_config,
    decode_action,
    default_bindings,
    default_noop,
    to_json,
)

__all__ = ["HumanConfig", "build_agent", "key_bindings", "noop_action"]


class HumanConfig(BaseModel):
    """Every key of a human actor's config; all optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    role: ClassVar[str] = "human actor"
    """Who the config is of, in its error messages."""

    rate: float | None = Field(default=20.0, gt=0, le=1000)
    """Ticks per second; ``null`` lets the person take as long as they like on every tick."""
    on_timeout: Literal["repeat", "noop", "wait"] = "repeat"
    """What happens when the person has not acted by the tick's deadline: repeat their last
    action, apply the no-op action, or wait for them. The choice is recorded with the tick.
    A key or button held down acts on every tick it is down, except with ``wait``, where every
    tick waits for a new press."""
    noop: Any = None
    """The no-op action (as JSON); defaults to the first Discrete action or a neutral Box."""
    action_labels: list[str] | None = None
    """Names of the Discrete actions, in order (``[push left, push right]``), shown on the
    page's buttons beside their keys; by default the action numbers."""
    start_on_key: bool = False
    """Start each trial when the person first presses a key (or a button) instead of after
    ``start_delay``: the first tick waits for them. ``cogym play`` turns it on."""
    keys: dict[str, Any] | None = None
    """``{key: action}`` or ``{key: {action: ..., label: ...}}``; keys are KeyboardEvent names
    (``ArrowLeft``, ``a``, ``" "``) or codes (``KeyA``, ``Space``)."""
    agent: str | None = None
    """Teacher mode: an implementation (``python:...``, ``sb3:...``) that acts whenever the
    person does not; the person takes over while holding a key."""
    agent_config: dict[str, Any] = Field(default_factory=dict)
    registry: str | None = None
    """The model registry that an ``sb3:<model>@<ref>`` agent is loaded from."""
    feedback_to: list[str] | None = None
    """Actors the person may reward from the page; by default every other actor for an
    observer, and nobody for an actor that acts."""
    start_delay: float = Field(default=1.0, ge=0, le=60)
    """Seconds between the start of a trial (or the page's return) and its first paced tick."""
    on_disconnect: Literal["pause", "end"] = "pause"
    """When the page closes or its connection drops: pause the trial until it comes back, or
    end the trial (as ``terminated``; the ticks played so far are kept)."""
    disconnect_timeout: float | None = Field(default=None, gt=0)
    """How long a pause may last before the trial ends anyway (``null``: no limit)."""
    connect_timeout: float | None = Field(default=None, gt=0)
    """How long a trial waits at its start for the page to be open (``null``: no limit)."""
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    """0: any free port (shared by every human actor of the process that asks for 0)."""
    allow_remote: bool = False
    """Needed to serve on an address other than the loopback one."""
    frame_format: Literal["jpeg", "png"] = "jpeg"
    frame_quality: int = Field(default=80, ge=1, le=95)
    show_url: bool = True
    """Print the page's URL on stderr when the actor's first trial starts."""

    @classmethod
    def parse(cls, config: dict[str, Any]) -> HumanConfig:
        """The config, or a :class:`~cogym.errors.ConfigError` naming each bad key."""
        try:
            return cls(**config)
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                field = ".".join(str(p) for p in error["loc"]) or "config"
                if error["type"] == "extra_forbidden":
                    hint = suggest(str(error["loc"][0]), cls.model_fields)
                    problems.append(f"config.{field}: unknown key.{hint}")
                else:
                    problems.append(f"config.{field}: {error['msg']}")
            raise ConfigError(
                f"{cls.role}: " + "; ".join(problems)
                + f". Known keys: {', '.join(cls.model_fields)}"
            ) from None

    def check_for(self, actor_class: ActorClass) -> None:
        """Raise :class:`~cogym.errors.ImplementationError` for keys that do not fit the role."""
        if (
            actor_class.action_space is None
            and {"agent", "keys", "noop", "on_timeout", "action_labels", "start_on_key"}
            & self.model_fields_set
        ):
            raise ImplementationError(
                f"human actor of class {actor_class.name!r} watches (it has no action space): "
                "config keys agent, keys, noop, on_timeout, action_labels and start_on_key apply "
                "only to actors that act"
            )
        if self.agent is not None:
            if self.start_on_key:
                raise ImplementationError(
                    "human actor in teacher mode (config.agent): the agent plays from the first "
                    "tick, so config.start_on_key does not apply; remove it"
                )
            if self.rate is None:
                raise ImplementationError(
                    "human actor in teacher mode (config.agent) needs a rate: the agent acts on "
                    "every tick the person lets pass"
                )
            if "on_timeout" in self.model_fields_set:
                raise ImplementationError(
                    "human actor in teacher mode (config.agent): the agent acts whenever the "
                    "person does not, so config.on_timeout does not apply; remove it"
                )


def key_bindings(config: HumanConfig, actor_class: ActorClass) -> list[KeyBinding]:
    """The keys of the page: ``config.keys``, or the defaults of the action space."""
    space = actor_class.action_space
    if space is None:
        return []
    labels = _action_labels(config, actor_class)
    if config.keys is not None:
        try:
            return bindings_from_config(space, config.keys, labels)
        except PageMessageError as exc:
            raise ImplementationError(f"human actor: {exc}") from None
    bindings = default_bindings(space, labels)
    if not bindings:
        raise ImplementationError(
            f"human actor of class {actor_class.name!r}: no default keys for the action "
            f"space {space}; give config.keys, e.g. {{ArrowLeft: <action>, ArrowRight: <action>}}"
        )
    return bindings


def _action_labels(config: HumanConfig, actor_class: ActorClass) -> list[str] | None:
    """``config.action_labels``, checked against a Discrete action space of as many actions."""
    labels = config.action_labels
    space = actor_class.action_space
    if labels is None:
        return None
    if not isinstance(space, spaces.Discrete):
        raise ImplementationError(
            f"human actor of class {actor_class.name!r}: config.action_labels names the actions "
            f"of a Discrete space, and the action space is {space}; name keys with "
            "config.keys: {key: {action: ..., label: ...}} instead"
        )
    if len(labels) != int(space.n):
        raise ImplementationError(
            f"human actor of class {actor_class.name!r}: config.action_labels has {len(labels)} "
            f"name(s) for the {int(space.n)} actions of {space}; give one name per action, in "
            "order"
        )
    return labels


def noop_action(config: HumanConfig, actor_class: ActorClass) -> Any:
    """The no-op action (``config.noop`` or the space's default); ``None`` for a watcher, or a
    teacher whose space has no default (its agent stands in)."""
    space = actor_class.action_space
    if space is None:
        return None
    raw = config.noop if config.noop is not None else default_noop(space)
    if raw is None:
        if config.agent is not None:
            return None
        raise ImplementationError(
            f"human actor of class {actor_class.name!r}: there is no default no-op action for "
            f"the action space {space}; give config.noop"
        )
    try:
        return decode_action(space, to_json(raw), "config.noop")
    except PageMessageError as exc:
        raise ImplementationError(f"human actor: {exc}") from None


def build_agent(config: HumanConfig, actor_class: ActorClass) -> Any:
    """Teacher mode: the agent named by ``config.agent``, built as the directory builds actors."""
    if config.agent is None:
        return None
    registry = None
    if config.registry is not None:
        registry = ModelRegistry(config.registry)
    return directory.make_actor(
        config.agent, actor_class, config.agent_config, registry=registry
    ).actor
