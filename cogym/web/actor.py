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
    PageTimeoutError,
)
from cogym.spaces import space_to_dict
from cogym.trial import ENVIRONMENT, Message, Reward, TrialContext
from cogym.web.actions import KeyBinding, action_allowed, action_mask, observation_view, to_json
from cogym.web.channel import HumanChannel, Press
from cogym.web.config import HumanConfig, build_agent, key_bindings, noop_action
from cogym.web.protocol import pack_frame
from cogym.web.room import TrialRoom, Window, join_room, leave_room
from cogym.web.server import print_url, shared_server
from cogym.web.waiting import wait_for_action, wait_through

__all__ = ["HumanActor"]


class HumanActor:
    """A person acting (or watching) through a web page; the ``human`` implementation.

    Built from a spec (``implementation: human``, ``config`` as :class:`HumanConfig`), or
    directly::

        >>> from gymnasium import spaces
        >>> actor = HumanActor(ActorClass("player", spaces.Box(-1, 1, (4,)), spaces.Discrete(2)),
        ...                    rate=20, on_timeout="repeat")      # doctest: +SKIP

    The page's URL is printed when the first trial starts, and is :attr:`url` from then on.
    """

    config_class: type[HumanConfig] = HumanConfig
    """The keys its ``config`` may have."""

    def __init__(self, actor_class: ActorClass, **config: Any) -> None:
        self.config = self.config_class.parse(config)
        self.actor_class = actor_class
        self.action_space = actor_class.action_space
        self.config.check_for(actor_class)
        self.bindings: list[KeyBinding] = key_bindings(self.config, actor_class)
        self.agent = build_agent(self.config, actor_class)
        self.noop: Any = noop_action(self.config, actor_class)
        self.server = shared_server(
            self.config.host, self.config.port, allow_remote=self.config.allow_remote
        )
        self.channel: HumanChannel | None = None
        self._owns_channel = True
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
    def waits_for_first_key(self) -> bool:
        """Whether a trial's first tick waits for the person's first key (``start_on_key``)."""
        return self.config.start_on_key and self.action_space is not None and self.agent is None

    @property
    def url(self) -> str | None:
        """The page's URL (once the first trial has started)."""
        return None if self.channel is None else self.channel.url

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
            self.channel, self._owns_channel = self._open_channel(context)
        channel = self.channel
        channel.set_hello(self._hello(context))
        channel.clear_input()
        self._room = join_room(context.trial_id, self, self._room)
        if self.agent is not None and callable(getattr(self.agent, "reset", None)):
            self.agent.reset(context)
        channel.send(
            {
                "type": "trial",
                "trial_id": context.trial_id,
                "state": "running",
                "previous": previous,
            }
        )

    def wait_for_page(self) -> None:
        """Wait until the page is open (the room calls this before a trial's first tick)."""
        channel = self._require_channel()
        context = self._require_context()
        if channel.wait_connected(self.config.connect_timeout):
            return
        if channel.closed:
            context.terminate(f"human actor {context.name!r} was closed before its page opened")
            return
        raise PageTimeoutError(
            f"human actor {context.name!r}: nobody opened {channel.url} within "
            f"{self.config.connect_timeout} s (config.connect_timeout)"
        )

    def act(self, observation: Any) -> Any:
        context = self._require_context()
        tick = context.tick
        if self.action_space is None:
            window, _ = self._require_room().begin(tick, self, None)
            self._ticks = tick + 1
            self._wait_through(window)
            return None
        window, mask = self._open_tick(observation)
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
                {
                    "type": "message",
                    "from": message.sender,
                    "tick": message.tick,
                    "payload": message.payload,
                }
            )

    def close(self) -> None:
        """Tell the page the session is over and free the page's address."""
        if self._room is not None:
            leave_room(self._room, self)
            self._room = None
        if self.channel is not None and self._owns_channel:
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

    def _open_channel(self, context: TrialContext) -> tuple[HumanChannel, bool]:
        """The page of this actor, opened for it (and its URL printed); whether it owns it."""
        channel = self.server.open_channel(context.name, self.action_space)
        if self.config.show_url:
            print_url(channel, self._invitation(context))
        return channel, True

    def _invitation(self, context: TrialContext) -> str:
        """What the person is asked to do at the page's URL."""
        role = "play" if self.action_space is not None else "watch"
        return f"{role} as {context.name!r}"

    def _open_tick(self, observation: Any, **shown: Any) -> tuple[Window, np.ndarray | None]:
        """Show the current tick on the page with this actor's turn (its observation, action
        mask, and ``shown``); the tick's window, and the mask."""
        tick = self._require_context().tick
        mask = action_mask(observation, self.action_space)
        turn = {**self._turn(observation, mask), **shown}
        window, sent = self._require_room().begin(tick, self, turn)
        self._ticks = tick + 1
        if not sent:
            self._require_channel().send({"type": "turn", "tick": tick, **turn})
        return window, mask

    def _wait_through(self, window: Window) -> None:
        """Let the tick's window pass, delivering the person's feedback meanwhile."""
        tick = window.tick
        wait_through(
            self._require_channel(),
            window,
            self._deliver_feedback,
            self._page_gone,
            lambda: self._reopen(tick),
        )

    def _hello(self, context: TrialContext) -> dict[str, Any]:
        feedback_to = self.config.feedback_to
        if feedback_to is None:
            feedback_to = (
                [n for n in context.actors if n != context.name]
                if self.action_space is None
                else []
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
            "start_on_key": self.waits_for_first_key,
            "trial_id": context.trial_id,
        }

    def show_tick(
        self, header: dict[str, Any], image: bytes | None, turn: dict[str, Any] | None
    ) -> None:
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
        turn: dict[str, Any] = {"observation": observation_view(observation)}
        if mask is not None:
            turn["mask"] = mask.astype(int).tolist()
        return turn

    # -- deciding a tick -----------------------------------------------------------------------

    def _decide(
        self, window: Window, mask: np.ndarray | None, agent_action: Any
    ) -> tuple[Any, Any, dict[str, Any], Press | None]:
        channel = self._require_channel()
        tick = window.tick
        previous = self._previous_turn

        def accept(press: Press) -> str | None:
            if previous is not None and previous < tick - 1 and press.seen_tick <= previous:
                return ""  # chosen before the other players moved: stale
            if mask is not None and not action_allowed(press.action, mask, self.action_space):
                return f"action {press.raw!r} is not allowed on tick {tick} (masked out)"
            return None

        outcome = wait_for_action(
            channel,
            window,
            accept,
            self._page_gone,
            lambda: self._reopen(tick),
            held_acts=not self.waits_for_person,  # waiting for the person: one press, one tick
        )
        press = outcome.press
        if press is not None:
            note: dict[str, Any] = {"by": "human"}
            if outcome.held:
                note["held"] = True
            if outcome.late_ms is not None:
                note["late_ms"] = outcome.late_ms
            return press.action, press.raw, note, press
        reason = outcome.reason or "timeout"
        if self.agent is not None:
            note = {"by": "agent"}
            if reason != "timeout":
                note["reason"] = reason
            return agent_action, to_json(agent_action), note, None
        if self.config.on_timeout == "repeat" and self._last_action is not None:
            action, raw, by = self._last_action, self._last_raw, "repeat"
        else:
            action, raw, by = self.noop, to_json(self.noop), "noop"
        if mask is not None and not action_allowed(action, mask, self.action_space):
            first = int(np.flatnonzero(mask)[0]) + int(self.action_space.start)
            action, raw, by = first, first, "first_allowed"
        return action, raw, {"by": by, "reason": reason}, None

    def _reopen(self, tick: int) -> Window:
        return self._require_room().reopen(tick, self)

    def _page_gone(self, paused_for: float) -> bool:
        """The page is not connected: whether the trial ends now (it is terminated if so)."""
        context = self._require_context()
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

    def _require_room(self) -> TrialRoom:
        if self._room is None:
            raise ImplementationError(
                "human actor: act() was called before reset(context); run it inside a trial"
            )
        return self._room

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
