"""The ``human`` actor: a person in a browser page acts, watches, teaches and gives feedback.

Its ``act`` runs inside the trial's tick loop: it shows the tick on the page, then waits for
the person's action until the tick's deadline (see :mod:`cogym.web.room` for the pacing).
Every tick it decides is annotated with who chose the action::

    {"by": "human"}                      the person pressed (or held) a key or a button
    {"by": "repeat", "reason": "timeout"} they had not acted by the deadline (or "noop")
    {"by": "agent"}                      teacher mode: the agent acted, the person did not
    {"by": "human", "late_ms": 830}      on_timeout: wait, and the person took longer than a tick

so that behaviour cloning can keep the person's own actions, or the corrections only.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from cogym.environment import ActorClass
from cogym.errors import (
    ImplementationError,
    MessageError,
    PageMessageError,
    PageTimeoutError,
)
from cogym.spaces import space_to_dict
from cogym.trial import ENVIRONMENT, Message, Reward, TrialContext
from cogym.web.actions import (
    KeyBinding,
    bindings_from_config,
    decode_action,
    default_bindings,
    default_noop,
    to_json,
)
from cogym.web.channel import HumanChannel, Press
from cogym.web.config import HumanConfig
from cogym.web.protocol import pack_frame
from cogym.web.room import TrialRoom, Window, join_room, leave_room
from cogym.web.server import print_url, shared_server

__all__ = ["HumanActor"]

OBSERVATION_LIMIT = 256
"""Observations with more numbers than this are summarised on the page, not listed."""


class HumanActor:
    """A person acting (or watching) through a web page; the ``human`` implementation.

    Built from a spec (``implementation: human``, ``config`` as :class:`HumanConfig`), or
    directly::

        >>> from gymnasium import spaces
        >>> actor = HumanActor(ActorClass("player", spaces.Box(-1, 1, (4,)), spaces.Discrete(2)),
        ...                    rate=20, on_timeout="repeat")      # doctest: +SKIP

    The page's URL is printed when the first trial starts, and is :attr:`url` from then on.
    """

    def __init__(self, actor_class: ActorClass, **config: Any) -> None:
        self.config = HumanConfig.parse(config)
        self.actor_class = actor_class
        self.action_space = actor_class.action_space
        acting = self.action_space is not None
        if not acting and ({"agent", "keys", "noop", "on_timeout"} & self.config.model_fields_set):
            raise ImplementationError(
                f"human actor of class {actor_class.name!r} watches (it has no action space): "
                "config keys agent, keys, noop and on_timeout apply only to actors that act"
            )
        if self.config.agent is not None:
            if self.config.rate is None:
                raise ImplementationError(
                    "human actor in teacher mode (config.agent) needs a rate: the agent acts on "
                    "every tick the person lets pass"
                )
            if "on_timeout" in self.config.model_fields_set:
                raise ImplementationError(
                    "human actor in teacher mode (config.agent): the agent acts whenever the "
                    "person does not, so config.on_timeout does not apply; remove it"
                )
        self.bindings: list[KeyBinding] = []
        self.noop: Any = None
        if acting:
            self.bindings = self._bindings()
            self.noop = self._noop()
        self.agent = self._agent() if self.config.agent is not None else None
        self.server = shared_server(
            self.config.host, self.config.port, allow_remote=self.config.allow_remote
        )
        self.channel: HumanChannel | None = None
        self.context: TrialContext | None = None
        self._room: TrialRoom | None = None
        self._env_return = 0.0
        self._feedback_received = 0.0
        self._ticks = 0
        self._trials = 0
        self._last_action: Any = None
        self._last_raw: Any = None
        self._previous_turn: int | None = None
        self._applied: dict[str, Any] | None = None

    # -- configuration ---------------------------------------------------------------------------

    @property
    def period(self) -> float:
        """Seconds per tick (0 when not paced)."""
        return 1.0 / self.config.rate if self.config.rate else 0.0

    @property
    def start_delay(self) -> float:
        return self.config.start_delay

    @property
    def waits_for_person(self) -> bool:
        """Whether a tick waits for the person however long they take."""
        if self.action_space is None or self.agent is not None:
            return False
        return self.config.on_timeout == "wait" or self.config.rate is None

    @property
    def url(self) -> str | None:
        """The page's URL (once the first trial has started)."""
        return None if self.channel is None else self.channel.url

    def _bindings(self) -> list[KeyBinding]:
        space = self.action_space
        if self.config.keys is not None:
            try:
                return bindings_from_config(space, self.config.keys)
            except PageMessageError as exc:
                raise ImplementationError(f"human actor: {exc}") from None
        bindings = default_bindings(space)
        if not bindings:
            raise ImplementationError(
                f"human actor of class {self.actor_class.name!r}: no default keys for the action "
                f"space {space}; give config.keys, e.g. {{ArrowLeft: <action>, ArrowRight: <action>}}"
            )
        return bindings

    def _noop(self) -> Any:
        raw = self.config.noop if self.config.noop is not None else default_noop(self.action_space)
        if raw is None:
            if self.agent is None and self.config.agent is None:
                raise ImplementationError(
                    f"human actor of class {self.actor_class.name!r}: there is no default no-op "
                    f"action for the action space {self.action_space}; give config.noop"
                )
            return None
        try:
            return decode_action(self.action_space, to_json(raw), "config.noop")
        except PageMessageError as exc:
            raise ImplementationError(f"human actor: {exc}") from None

    def _agent(self) -> Any:
        from cogym.directory import directory

        registry = None
        if self.config.registry is not None:
            from cogym.registry import ModelRegistry

            registry = ModelRegistry(self.config.registry)
        built = directory.make_actor(
            self.config.agent, self.actor_class, self.config.agent_config, registry=registry
        )
        return built.actor

    # -- the actor protocol ------------------------------------------------------------------------

    def reset(self, context: TrialContext) -> None:
        """A trial starts: tell the page (its first tick waits for every person's page)."""
        previous = self._summary() if self._trials else None
        self.context = context
        self._trials += 1
        self._env_return = 0.0
        self._feedback_received = 0.0
        self._ticks = 0
        self._last_action = None
        self._last_raw = None
        self._previous_turn = None
        self._applied = None
        if self.channel is None:
            self.channel = self.server.open_channel(context.name, self.action_space)
            if self.config.show_url:
                role = "play" if self.action_space is not None else "watch"
                print_url(self.channel, f"{role} as {context.name!r}")
        channel = self.channel
        channel.set_hello(self._hello(context))
        channel.clear_input()
        self._room = join_room(context.trial_id, self, self._room)
        if self.agent is not None and callable(getattr(self.agent, "reset", None)):
            self.agent.reset(context)
        channel.send(
            {"type": "trial", "trial_id": context.trial_id, "state": "running", "previous": previous}
        )

    def wait_for_page(self) -> None:
        """Wait until the page is open (the room calls this before a trial's first tick)."""
        channel = self.channel
        assert channel is not None and self.context is not None
        if not channel.wait_connected(self.config.connect_timeout):
            raise PageTimeoutError(
                f"human actor {self.context.name!r}: nobody opened {channel.url} within "
                f"{self.config.connect_timeout} s (config.connect_timeout)"
            )

    def act(self, observation: Any) -> Any:
        context = self._require_context()
        tick = context.tick
        room = self._room
        assert room is not None  # set by reset, which the trial calls before any act
        acting = self.action_space is not None
        mask = _action_mask(observation, self.action_space) if acting else None
        turn = self._turn(observation, mask) if acting else None
        window, shown = room.begin(tick, self, turn)
        self._ticks = tick + 1
        if not acting:
            self._watch(window)
            return None
        if not shown:
            self._require_channel().send({"type": "turn", "tick": tick, **turn})
        agent_action = self.agent.act(observation) if self.agent is not None else None
        action, raw, note, press = self._decide(window, mask, agent_action)
        self._deliver_feedback()
        context.annotate(note)
        self._last_action, self._last_raw = action, raw
        self._previous_turn = tick
        lag = None
        if press is not None and press.key_time is not None and not note.get("held"):
            lag = round((time.time() - press.key_time) * 1000.0, 2)
        self._applied = {"tick": tick, "by": note["by"], "action": raw, "lag_ms": lag}
        return action

    def on_reward(self, reward: Reward) -> None:
        if reward.sender == ENVIRONMENT:
            self._env_return += reward.value
        else:
            self._feedback_received += reward.value * reward.confidence
            if self.channel is not None:
                self.channel.send(
                    {
                        "type": "reward",
                        "from": reward.sender,
                        "value": reward.value,
                        "confidence": reward.confidence,
                        "tick": reward.tick,
                    }
                )

    def on_message(self, message: Message) -> None:
        if self.channel is not None:
            self.channel.send(
                {"type": "message", "from": message.sender, "tick": message.tick, "payload": message.payload}
            )

    def close(self) -> None:
        """Tell the page the session is over and free the page's address."""
        if self._room is not None:
            leave_room(self._room, self)
            self._room = None
        if self.channel is not None:
            self.channel.send({"type": "trial", "state": "over", "previous": self._summary()})
            self.channel.close()
        close = getattr(self.agent, "close", None)
        if callable(close):
            close()

    def render(self) -> Any:
        """The environment's frame of the current tick (used by the room)."""
        return self._require_context().render()

    def __repr__(self) -> str:
        where = self.url or "page not opened yet"
        return f"HumanActor({self.actor_class.name!r}, rate={self.config.rate}, {where})"

    # -- the page --------------------------------------------------------------------------------

    def _hello(self, context: TrialContext) -> dict[str, Any]:
        feedback_to = self.config.feedback_to
        if feedback_to is None:
            feedback_to = (
                [n for n in context.actors if n != context.name] if self.action_space is None else []
            )
        unknown = [n for n in feedback_to if n not in context.actors]
        if unknown:
            raise ImplementationError(
                f"human actor {context.name!r}: config.feedback_to names {unknown}, which are not "
                f"actors of this trial (actors: {list(context.actors)})"
            )
        return {
            "type": "hello",
            "actor": context.name,
            "actor_class": self.actor_class.name,
            "action_space": None if self.action_space is None else space_to_dict(self.action_space),
            "bindings": [b.as_dict() for b in self.bindings],
            "feedback_to": feedback_to,
            "rate": self.config.rate,
            "on_timeout": "agent" if self.agent is not None else self.config.on_timeout,
            "teacher": self.agent is not None,
            "trial_id": context.trial_id,
        }

    def show_tick(self, header: dict[str, Any], image: bytes | None, turn: dict[str, Any] | None) -> None:
        """Send the room's tick (and frame) to this actor's page, with this actor's status
        (and, when it acts on this tick and the room knows it, its observation and mask)."""
        channel = self.channel
        if channel is None:
            return
        status = dict(header)
        status["return"] = self._env_return
        status["feedback"] = self._feedback_received
        status["applied"] = self._applied
        if turn is not None:
            status["turn"] = turn
        if image is None:
            channel.send(status)
        else:
            channel.send_frame(pack_frame(status, image))

    @staticmethod
    def _turn(observation: Any, mask: np.ndarray | None) -> dict[str, Any]:
        turn: dict[str, Any] = {"observation": _observation_view(observation)}
        if mask is not None:
            turn["mask"] = mask.astype(int).tolist()
        return turn

    # -- deciding a tick -----------------------------------------------------------------------

    def _decide(
        self, window: Window, mask: np.ndarray | None, agent_action: Any
    ) -> tuple[Any, Any, dict[str, Any], Press | None]:
        channel = self.channel
        assert channel is not None and self.context is not None
        tick = window.tick
        previous = self._previous_turn
        refused: list[str] = []

        def accept(press: Press) -> bool:
            if previous is not None and previous < tick - 1 and press.seen_tick <= previous:
                return False  # chosen before the other players moved: stale
            if mask is not None and not _allowed(press.action, mask, self.action_space):
                refused.append(f"action {press.raw!r} is not allowed on tick {tick} (masked out)")
                return False
            return True

        paused_at: float | None = None
        while True:
            reopen = False
            with channel.condition:
                now = time.monotonic()
                if channel.closed:
                    return self._fallback(tick, mask, agent_action, "closed")
                if not channel.connected:
                    if paused_at is None:
                        paused_at = now
                    ended = self._page_gone(now - paused_at)
                    if ended:
                        return self._fallback(tick, mask, agent_action, "disconnected")
                    channel.wait(1.0)
                    continue
                if paused_at is not None:
                    paused_at = None
                    reopen = True
                elif now >= window.opens:
                    press = channel.take_press(accept)
                    if press is None and channel.held is not None and accept(channel.held):
                        held = channel.held
                        note: dict[str, Any] = {"by": "human", "held": True}
                        return held.action, held.raw, note, held
                    if press is not None:
                        note = {"by": "human"}
                        late = now - (window.opens + self.period)
                        if self.waits_for_person and self.period and late > 0:
                            note["late_ms"] = round(late * 1000.0)
                        return press.action, press.raw, note, press
                    if now >= window.closes:
                        return self._fallback(tick, mask, agent_action, "timeout")
                    if not refused:
                        channel.wait(window.closes - now)
                else:
                    channel.wait(window.opens - now)
            for text in refused:
                channel.send({"type": "error", "message": text})
            refused.clear()
            if reopen:
                assert self._room is not None
                window = self._room.reopen(tick, self)

    def _fallback(
        self, tick: int, mask: np.ndarray | None, agent_action: Any, reason: str
    ) -> tuple[Any, Any, dict[str, Any], None]:
        if self.agent is not None:
            note: dict[str, Any] = {"by": "agent"}
            if reason != "timeout":
                note["reason"] = reason
            return agent_action, to_json(agent_action), note, None
        policy = self.config.on_timeout
        if policy == "repeat" and self._last_action is not None:
            action, raw, by = self._last_action, self._last_raw, "repeat"
        else:
            action, raw, by = self.noop, to_json(self.noop), "noop"
        if mask is not None and not _allowed(action, mask, self.action_space):
            first = int(np.flatnonzero(mask)[0]) + int(self.action_space.start)
            action, raw, by = first, first, "first_allowed"
        return action, raw, {"by": by, "reason": reason}, None

    def _page_gone(self, paused_for: float) -> bool:
        """The page is not connected: whether the trial ends now (it is terminated if so)."""
        context = self.context
        assert context is not None
        name = context.name
        if self.config.on_disconnect == "end":
            context.terminate(f"the page of human actor {name!r} was closed or lost its connection")
            return True
        limit = self.config.disconnect_timeout
        if limit is not None and paused_for >= limit:
            context.terminate(
                f"the page of human actor {name!r} stayed away for more than {limit} s "
                "(config.disconnect_timeout)"
            )
            return True
        return False

    def _watch(self, window: Window) -> None:
        """An observer's tick: wait out the tick (paced), passing on the person's feedback."""
        channel = self.channel
        assert channel is not None
        paused_at: float | None = None
        while True:
            self._deliver_feedback()
            reopen = False
            with channel.condition:
                now = time.monotonic()
                if channel.closed:
                    return
                if not channel.connected:
                    if paused_at is None:
                        paused_at = now
                    if self._page_gone(now - paused_at):
                        return
                    channel.wait(1.0)
                    continue
                if paused_at is not None:
                    paused_at = None
                    reopen = True
                elif now >= window.closes:
                    break
                elif not channel.feedback:
                    channel.wait(window.closes - now)
            if reopen:
                assert self._room is not None
                window = self._room.reopen(window.tick, self)
        self._deliver_feedback()

    def _deliver_feedback(self) -> None:
        channel = self.channel
        context = self.context
        if channel is None or context is None:
            return
        for feedback in channel.take_feedback():
            tick = min(feedback.tick, context.tick)
            try:
                context.send_reward(feedback.to, feedback.value, feedback.confidence, tick=tick)
            except MessageError as exc:
                channel.send({"type": "error", "message": f"feedback not sent: {exc}"})
                continue
            channel.send(
                {
                    "type": "feedback_sent",
                    "to": feedback.to,
                    "value": feedback.value,
                    "confidence": feedback.confidence,
                    "tick": tick,
                }
            )

    # -- helpers -------------------------------------------------------------------------------

    def _require_channel(self) -> HumanChannel:
        if self.channel is None:
            raise ImplementationError(
                "human actor: act() was called before reset(context); run it inside a trial"
            )
        return self.channel

    def _require_context(self) -> TrialContext:
        if self.context is None:
            raise ImplementationError(
                "human actor: act() was called before reset(context); run it inside a trial"
            )
        return self.context

    def _summary(self) -> dict[str, Any]:
        return {
            "trial_id": None if self.context is None else self.context.trial_id,
            "ticks": self._ticks,
            "return": self._env_return,
            "feedback": self._feedback_received,
        }


def _action_mask(observation: Any, space: Any) -> np.ndarray | None:
    from gymnasium import spaces

    if isinstance(observation, dict) and "action_mask" in observation and isinstance(space, spaces.Discrete):
        mask = np.asarray(observation["action_mask"]).astype(bool).reshape(-1)
        if mask.shape == (int(space.n),) and mask.any():
            return mask
    return None


def _allowed(action: Any, mask: np.ndarray, space: Any) -> bool:
    index = int(action) - int(space.start)
    return bool(mask[index]) if 0 <= index < len(mask) else False


def _observation_view(observation: Any) -> Any:
    """The observation as the page shows it: listed when small, summarised when large."""
    size = _size(observation)
    if size <= OBSERVATION_LIMIT:
        return to_json(observation)
    if isinstance(observation, np.ndarray):
        return f"array of shape {list(observation.shape)} ({observation.dtype})"
    return f"{type(observation).__name__} of {size} values"


def _size(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return int(value.size)
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_size(v) for v in value)
    return 1
