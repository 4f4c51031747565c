"""The actor of DAgger's trials: a learner and a teacher in one seat.

On each tick the teacher acts with probability ``beta`` (always while there is no learner);
otherwise the learner acts. The teacher labels the state when it acts, on every tick with
``query="always"``, and with ``query="uncertain"`` only where the learner is unsure
(:mod:`cogym.learn.uncertainty`, by ``measure``) by at least ``threshold``; with a
``budget`` ``b``, also only where the uncertainty is in the highest share ``b`` of the
trial's ticks so far, and on at most ``ceil(b * ticks so far)`` ticks. Each tick is
annotated with what happened, a JSON note::

    {"by": "learner",             who chose the executed action: learner, teacher or random
     "round": 2,                  the DAgger round
     "query": "uncertain",        always or uncertain
     "asked": true,               whether the teacher was asked to label this state
     "reason": "entropy 0.412 >= threshold 0.3",
     "uncertainty": 0.412,        (with query="uncertain" and a learner)
     "label": 1,                  the teacher's label, only when it gave one (value_to_json)
     "labelled_by": "teacher"}    only when labelled

``cogym bc --note labelled_by=teacher --labels label`` learns those labels from the datastore,
as :func:`cogym.learn.dagger` does; ``--note by=teacher`` keeps the ticks the teacher drove.
A teacher that declines (:data:`~cogym.learn.teacher.NO_LABEL`) leaves the tick unlabelled; if
it was to act, the learner acts instead, or a random action while there is no learner yet.
Notes the teacher or learner make themselves are kept under ``teacher_note`` / ``learner_note``.
A teacher that watches (a person, ``teacher="human"``) is shown the ticks it is not asked about.

In a spec it is ``python:cogym.learn.mixture:MixedActor`` with the config below; DAgger writes
those specs itself.
"""

from __future__ import annotations

import bisect
import copy
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from cogym.environment import ActorClass
from cogym.errors import ImplementationError, MessageError, SpaceMismatchError
from cogym.learn.teacher import NO_LABEL, ask, build_teacher, show
from cogym.seeding import seed_space
from cogym.spaces import membership_check, value_to_json

if TYPE_CHECKING:
    from cogym.spec import TrialSpec
    from cogym.trial import Message, Reward, TrialContext

__all__ = ["QUERIES", "MixedActor"]

QUERIES = ("always", "uncertain")
"""When the teacher labels a state the learner acts in."""


class MixedActor:
    """Learner and teacher in one seat; see the module's documentation.

    ``teacher`` and ``learner`` are implementation strings (``learner`` ``None`` in a first
    round without one), built through the directory with ``registry`` (a directory or URL);
    ``ensemble`` names more learners whose disagreement measures uncertainty (continuous
    actions, or ``measure="ensemble"``).
    """

    def __init__(
        self,
        actor_class: ActorClass,
        teacher: str,
        learner: str | None = None,
        *,
        teacher_config: Mapping[str, Any] | None = None,
        registry: str | None = None,
        beta: float = 0.0,
        query: str = "always",
        threshold: float = 0.0,
        ensemble: Sequence[str] = (),
        measure: str = "entropy",
        budget: float | None = None,
        round: int = 0,
    ) -> None:
        if query not in QUERIES:
            raise ImplementationError(f"query must be one of {', '.join(QUERIES)}, got {query!r}")
        if not 0.0 <= float(beta) <= 1.0:
            raise ImplementationError(f"beta must be in [0, 1], got {beta!r}")
        from cogym.directory import directory
        from cogym.registry import as_registry

        self.actor_class = actor_class
        self.teacher_implementation = teacher
        self.learner_implementation = learner
        self.beta = float(beta)
        self.query = query
        self.threshold = float(threshold)
        if budget is not None and not 0.0 < float(budget) <= 1.0:
            raise ImplementationError(f"budget must be in (0, 1], got {budget!r}")
        self.budget = None if budget is None else float(budget)
        self._seen: list[float] = []  # this trial's uncertainties, sorted
        self._asked = 0  # this trial's states asked about by the budget
        self.round = int(round)
        models = as_registry(registry)
        self.teacher = build_teacher(teacher, actor_class, dict(teacher_config or {}), models)
        self.learner = None
        self.measure = None
        if learner is not None:
            self.learner = directory.make_actor(learner, actor_class, {}, registry=models).actor
            if query == "uncertain":
                self.measure = _measure(
                    self.learner, ensemble, actor_class, models, learner, measure
                )
        self._in_space = membership_check(actor_class.action_space)
        self._fallback = copy.deepcopy(actor_class.action_space)
        self._rng = np.random.default_rng()
        self._context: TrialContext | None = None
        self._teacher_context = _ScopedContext()
        self._learner_context = _ScopedContext()

    # -- the actor protocol ------------------------------------------------------------------

    def reset(self, context: TrialContext) -> None:
        self._context = context
        self._seen = []
        self._asked = 0
        self._rng = np.random.default_rng(context.seed)
        if context.seed is not None:
            seed_space(self._fallback, context.seed)
        parts = ((self.teacher, self._teacher_context), (self.learner, self._learner_context))
        for part, scoped in parts:
            scoped.bind(context)
            reset = getattr(part, "reset", None)
            if callable(reset):
                reset(scoped)

    def act(self, observation: Any) -> Any:
        note: dict[str, Any] = {"by": "learner", "round": self.round, "query": self.query}
        learner_action: Any = None
        uncertainty: float | None = None
        if self.measure is not None:
            learner_action, uncertainty = self.measure(observation)
            note["uncertainty"] = uncertainty
        elif self.learner is not None:
            learner_action = self.learner.act(observation)
        teacher_acts = self.learner is None or (
            self.beta > 0.0 and float(self._rng.random()) < self.beta
        )
        asked, note["reason"] = self._whether_to_ask(teacher_acts, uncertainty)
        note["asked"] = asked
        if asked:
            label = self._label(observation)
        else:
            label = NO_LABEL
            show(self.teacher, observation)
        if label is not NO_LABEL:
            note["label"] = value_to_json(self.actor_class.action_space, label)
            note["labelled_by"] = "teacher"
        if teacher_acts and label is not NO_LABEL:
            action, note["by"] = label, "teacher"
        elif learner_action is not None:
            action = learner_action
        else:
            action, note["by"] = self._fallback.sample(), "random"
        scopes = (("teacher_note", self._teacher_context), ("learner_note", self._learner_context))
        for key, scoped in scopes:
            taken = scoped.take_note()
            if taken is not None:
                note[key] = taken
        if self._context is not None:
            self._context.annotate(note)
        return action

    def on_reward(self, reward: Reward) -> None:
        for part in (self.teacher, self.learner):
            handler = getattr(part, "on_reward", None)
            if callable(handler):
                handler(reward)

    def on_message(self, message: Message) -> None:
        for part in (self.teacher, self.learner):
            handler = getattr(part, "on_message", None)
            if callable(handler):
                handler(message)

    def close(self) -> None:
        for part in (self.teacher, self.learner):
            close = getattr(part, "close", None)
            if callable(close):
                close()

    # -- deciding ----------------------------------------------------------------------------

    def _whether_to_ask(self, teacher_acts: bool, uncertainty: float | None) -> tuple[bool, str]:
        if self.learner is None:
            return True, "no learner yet: the teacher acts"
        if teacher_acts:
            return True, f"beta {self.beta:.3g}: the teacher acts"
        if self.query == "always" or self.measure is None or uncertainty is None:
            return True, "always"
        name = self.measure.name
        if self.budget is not None:
            bisect.insort(self._seen, uncertainty)
        if uncertainty < self.threshold:
            return False, f"{name} {uncertainty:.3g} < threshold {self.threshold:.3g}"
        if self.budget is None:
            return True, f"{name} {uncertainty:.3g} >= threshold {self.threshold:.3g}"
        seen = len(self._seen)
        above = seen - bisect.bisect_right(self._seen, uncertainty)
        share = f"{above} of the trial's {seen} states so far above it"
        if above >= self.budget * seen:
            return False, f"{name} {uncertainty:.3g} not in the top {self.budget:.3g}: {share}"
        if self._asked >= math.ceil(self.budget * seen):
            return False, (
                f"{name} {uncertainty:.3g} in the top {self.budget:.3g} ({share}), but the "
                f"budget is spent: {self._asked} asked of {seen}"
            )
        self._asked += 1
        return True, f"{name} {uncertainty:.3g} in the top {self.budget:.3g}: {share}"

    def _label(self, observation: Any) -> Any:
        label = ask(self.teacher, observation)
        if label is NO_LABEL or self._in_space(label):
            return label
        context = self._context
        where = f"trial {context.trial_id}, tick {context.tick}: " if context is not None else ""
        raise SpaceMismatchError(
            f"{where}teacher {self.teacher_implementation!r} labelled a state of "
            f"{self.actor_class.name!r} with {label!r}, which is not in the learner's action "
            f"space {self.actor_class.action_space}"
        )

    def __repr__(self) -> str:
        return (
            f"MixedActor(teacher={self.teacher_implementation!r}, "
            f"learner={self.learner_implementation!r}, beta={self.beta:g}, query={self.query!r})"
        )


def _measure(
    learner: Any,
    ensemble: Sequence[str],
    actor_class: ActorClass,
    models: Any,
    name: str,
    measure: str,
) -> Any:
    """The uncertainty measure of an SB3 learner (and of its ensemble)."""
    from cogym.directory import directory
    from cogym.learn.uncertainty import Uncertainty

    policy = getattr(getattr(learner, "model", None), "policy", None)
    if policy is None or not callable(getattr(policy, "get_distribution", None)):
        raise ImplementationError(
            f"query 'uncertain' measures the learner's action distribution, and learner {name!r} "
            f"({type(learner).__name__}) has no SB3 actor-critic policy; use query 'always'"
        )
    members = []
    for member in ensemble:
        built = directory.make_actor(member, actor_class, {}, registry=models).actor
        members.append(built.model.policy)
    try:
        return Uncertainty(policy, members, measure)
    except ValueError as exc:
        raise ImplementationError(f"query 'uncertain' of learner {name!r}: {exc}") from None


class _ScopedContext:
    """The trial context as the teacher (or learner) inside a mixed actor sees it.

    Everything goes to the mixed actor's context, except notes: they are kept, and join the
    mixed actor's own note of the tick.
    """

    def __init__(self) -> None:
        self._context: TrialContext | None = None
        self._note: Any = None

    def bind(self, context: TrialContext) -> None:
        self._context = context
        self._note = None

    @property
    def _bound(self) -> TrialContext:
        if self._context is None:
            raise ImplementationError("the mixed actor's parts have no trial before reset()")
        return self._context

    @property
    def name(self) -> str:
        return self._bound.name

    @property
    def actor_class(self) -> ActorClass | None:
        return self._bound.actor_class

    @property
    def seed(self) -> int | None:
        return self._bound.seed

    @property
    def trial_id(self) -> str:
        return self._bound.trial_id

    @property
    def spec(self) -> TrialSpec:
        return self._bound.spec

    @property
    def tick(self) -> int:
        return self._bound.tick

    @property
    def actors(self) -> tuple[str, ...]:
        return self._bound.actors

    def send_reward(
        self, receiver: str, value: float, confidence: float = 1.0, tick: int | None = None
    ) -> None:
        self._bound.send_reward(receiver, value, confidence, tick)

    def send_message(self, receiver: str, payload: Any) -> None:
        self._bound.send_message(receiver, payload)

    def annotate(self, note: Any) -> None:
        import json

        try:
            json.dumps(note)  # refused now, not when the mixed actor's note is made
        except (TypeError, ValueError) as exc:
            raise MessageError(
                f"trial {self.trial_id}, tick {self.tick}: a part of {self.name!r} annotated the "
                f"tick with a note that is not JSON-serialisable ({exc})"
            ) from None
        self._note = note

    def take_note(self) -> Any:
        note, self._note = self._note, None
        return note

    def render(self) -> Any:
        return self._bound.render()

    def terminate(self, reason: str) -> None:
        self._bound.terminate(reason)

    def __repr__(self) -> str:
        return f"_ScopedContext({self._context!r})"
