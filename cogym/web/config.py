"""The ``config`` of a ``human`` actor, as a spec gives it.

Example: a person plays CartPole at 20 ticks/s with their own keys, and watches out for
nothing else::

    actors:
      - name: player
        implementation: human
        config: {rate: 20, on_timeout: repeat, keys: {a: 0, d: 1}}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cogym.errors import ImplementationError, suggest

__all__ = ["HumanConfig"]


class HumanConfig(BaseModel):
    """Every key of a human actor's config; all optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate: float | None = Field(default=20.0, gt=0, le=1000)
    """Ticks per second; ``null`` lets the person take as long as they like on every tick."""
    on_timeout: Literal["repeat", "noop", "wait"] = "repeat"
    """What happens when the person has not acted by the tick's deadline: repeat their last
    action, apply the no-op action, or wait for them. The choice is recorded with the tick."""
    noop: Any = None
    """The no-op action (as JSON); defaults to the first Discrete action or a neutral Box."""
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
        """The config, or an :class:`~cogym.errors.ImplementationError` naming each bad key."""
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
            raise ImplementationError(
                "human actor: " + "; ".join(problems) + f". Known keys: {', '.join(cls.model_fields)}"
            ) from None
