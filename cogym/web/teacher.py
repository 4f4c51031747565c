"""A person as DAgger's teacher (``teacher="human"``): they watch the learner play on the page
and press keys to label the states it visits.

The page is the human actor's (:mod:`cogym.web.actor`), in a *labelling* state: the frame of
each tick, the learner's play, and an "asked" badge on the ticks the teacher is asked to label
(every tick with ``query="always"``, those the learner is unsure of with
``query="uncertain"``). Pacing: the trial runs at the teacher's ``rate`` (10 ticks/s unless
told), and each tick is a *label window* of ``1 / rate`` seconds:

- a key pressed while the page shows an asked tick labels that tick with the key's action (and
  ends its window at once; the next tick still comes on time); a key held down labels every
  asked tick it is down;
- a tick whose window passes with no key pressed is *unlabelled*
  (:data:`~cogym.labels.NO_LABEL`), never a label of "no-op"; a key pressed for an
  earlier tick, arriving after that tick's window closed, labels nothing;
- a tick the teacher is not asked about is shown for its window too, and keys pressed then
  label nothing.

So the learner's trial never waits for the person longer than a window per tick. Each labelled
tick's note from the teacher is ``{"labelled": true}`` (``"held": true`` for a held key), each
unlabelled asked tick's ``{"labelled": false, "reason": "timeout"}``; DAgger keeps them under
``teacher_note``, beside its own ``label`` and ``labelled_by``.

DAgger opens the page once for its whole run (:func:`teacher_page`, which prints its URL) and
gives every round's teacher its id as ``config.page``, so the person keeps one tab open from
the first round to the last.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from gymnasium import spaces
from pydantic import Field

from cogym.environment import ActorClass
from cogym.errors import ImplementationError
from cogym.labels import NO_LABEL
from cogym.trial import TrialContext
from cogym.web.actions import action_allowed
from cogym.web.actor import HumanActor
from cogym.web.channel import HumanChannel, Press
from cogym.web.config import HumanConfig
from cogym.web.server import print_url, shared_server
from cogym.web.waiting import wait_for_action

__all__ = ["HumanTeacher", "HumanTeacherConfig", "teacher_page"]


class HumanTeacherConfig(HumanConfig):
    """The config of a human teacher: a human actor's, with its own ``rate`` and ``page``.

    ``agent`` and ``on_timeout`` do not apply (the learner plays; a tick the person lets pass
    stays unlabelled), nor does ``rate: null`` (the trial does not wait for a person).
    """

    role = "human teacher"

    rate: float | None = Field(default=10.0, gt=0, le=1000)
    """Ticks per second: each tick is a label window of ``1 / rate`` seconds."""
    page: str | None = None
    """The id of a page already open in this process to label through (DAgger opens one for
    its whole run); ``null``: open a page, and print its URL, at the first trial."""

    def check_for(self, actor_class: ActorClass) -> None:
        if actor_class.action_space is None:
            raise ImplementationError(
                f"human teacher of {actor_class.name!r}: the actor has no action space, so "
                "there is nothing to label"
            )
        if self.rate is None:
            raise ImplementationError(
                "human teacher: config.rate is null, but the learner's trial does not wait for "
                "a person; give a rate (ticks per second: each tick is a label window of "
                "1 / rate s)"
            )
        for key, why in (
            ("agent", "the learner plays"),
            ("on_timeout", "a tick you let pass stays unlabelled"),
        ):
            if key in self.model_fields_set:
                raise ImplementationError(
                    f"human teacher: config.{key} does not apply to a teacher ({why}); remove it"
                )


class HumanTeacher(HumanActor):
    """A person labelling, through the page, the states a learner visits; see the module.

    DAgger builds it for ``teacher="human"`` (``teacher_config`` as
    :class:`HumanTeacherConfig`)::

        >>> from cogym.learn import dagger
        >>> # dagger(spec, actor="player", teacher="human", teacher_config={"rate": 5},
        >>> #        rounds=3, trials_per_round=2, registry="models/", model="cp-human",
        >>> #        datastore="trials/")
    """

    config_class = HumanTeacherConfig

    def label(self, observation: Any) -> Any:
        """The action of the key pressed within this tick's window, or
        :data:`~cogym.labels.NO_LABEL` if none was."""
        window, mask = self._open_tick(observation, asked=True)
        tick = window.tick
        channel = self._require_channel()

        def accept(press: Press) -> str | None:
            if press.seen_tick < tick and press is not channel.held:
                return ""  # pressed for an earlier tick, after its window closed: no label
            if mask is not None and not action_allowed(press.action, mask, self.action_space):
                return f"action {press.raw!r} is not allowed on tick {tick} (masked out)"
            return None

        outcome = wait_for_action(
            channel, window, accept, self._page_gone, lambda: self._reopen(tick)
        )
        self._deliver_feedback()
        context = self._require_context()
        press = outcome.press
        if press is None:
            context.annotate({"labelled": False, "reason": outcome.reason or "timeout"})
            self._applied = {"tick": tick, "by": "nobody", "action": None, "lag_ms": None}
            return NO_LABEL
        note: dict[str, Any] = {"labelled": True}
        if outcome.held:
            note["held"] = True
        context.annotate(note)
        self._applied = {"tick": tick, "by": "human", "action": press.raw, "lag_ms": None}
        return press.action

    def watch(self, observation: Any) -> None:
        """A tick the teacher is not asked about: shown for its window; keys label nothing."""
        window, _ = self._open_tick(observation, asked=False)
        self._wait_through(window)
        self._applied = {"tick": window.tick, "by": "not asked", "action": None, "lag_ms": None}

    def _hello(self, context: TrialContext) -> dict[str, Any]:
        return {**super()._hello(context), "labelling": True, "on_timeout": "unlabelled"}

    def _invitation(self, context: TrialContext) -> str:
        return f"label as {context.name!r} (the learner's teacher)"

    def _open_channel(self, context: TrialContext) -> tuple[HumanChannel, bool]:
        page = self.config.page
        if page is None:
            return super()._open_channel(context)
        for channel in self.server.channels():
            if channel.id == page and not channel.closed:
                return channel, False
        raise ImplementationError(
            f"human teacher of {context.name!r}: no page {page!r} is open on "
            f"{self.server.base_url} (config.page names a page opened in this process, as "
            "DAgger opens one; leave it out to open a page)"
        )

    def __repr__(self) -> str:
        where = self.url or "page not opened yet"
        return f"HumanTeacher({self.actor_class.name!r}, rate={self.config.rate}, {where})"


@contextlib.contextmanager
def teacher_page(
    actor: str, action_space: spaces.Space, config: dict[str, Any] | None = None
) -> Iterator[HumanChannel]:
    """A page for the human teacher of ``actor``, open (and its URL printed) until the end.

    ``config`` is the teacher's (its ``host``, ``port``, ``allow_remote``, ``show_url`` say
    where and whether to print); give the page's id as ``config.page`` to each teacher.
    """
    settings = HumanTeacherConfig.parse(dict(config or {}))
    server = shared_server(settings.host, settings.port, allow_remote=settings.allow_remote)
    channel = server.open_channel(actor, action_space)
    if settings.show_url:
        print_url(channel, f"label as {actor!r} (DAgger's teacher)")
    try:
        yield channel
    finally:
        channel.send({"type": "trial", "state": "over", "previous": None})
        channel.close()
