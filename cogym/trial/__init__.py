"""Trials: one run of an environment with its actors, advanced tick by tick.

The modules, each a concept, lowest first::

    values     TrialState, Reward, Message, Sample, TrialInfo, TrialResult, ActorClass
    context    TrialContext: what a participant sees, over the trial's TrialPort
    recording  the recorder and actor-hook protocols; tick_recorder; TickNotes
    rewards    RewardLedger: send, route, aggregate by confidence, revise past ticks
    mailbox    Mailbox: messages sent on one tick, delivered on the next
    externals  ExternalSeats: what the actors driven from outside see between steps
    cast       Cast: the environment and actors, with the tick loop's lookups made once
    playing    acting and stepping one tick: any cast, or one actor alone (the fast path)
    trial      Trial: the lifecycle and THE tick loop, built on all of the above

:mod:`cogym.environment` and :mod:`cogym.actors` build on ``values``, ``context`` and
``recording``; nothing here imports them back (the cast names what it needs of an environment
as :class:`~cogym.trial.cast.TrialEnvironment`).
"""

from cogym.trial.cast import Cast
from cogym.trial.context import TrialContext
from cogym.trial.recording import TrialRecorder
from cogym.trial.trial import Trial
from cogym.trial.values import (
    BROADCAST,
    ENVIRONMENT,
    Message,
    Reward,
    Sample,
    TrialInfo,
    TrialResult,
    TrialState,
)

__all__ = [
    "BROADCAST",
    "ENVIRONMENT",
    "Cast",
    "Message",
    "Reward",
    "Sample",
    "Trial",
    "TrialContext",
    "TrialInfo",
    "TrialRecorder",
    "TrialResult",
    "TrialState",
]
