"""Deadlines that hold while user code blocks: a trial's ``max_seconds`` and an actor's
``response_timeout``.

The tick loop looks at ``max_seconds`` before each tick, but an environment or actor that sleeps
or spins inside ``step``, ``reset`` or ``act`` would keep it from ever getting there. So when a
trial has ``max_seconds`` or one of its actors a ``response_timeout``, the trial makes a
:class:`Guard`: it wraps the calls into user code (environment reset and step, actor reset and
act) so that it knows which one is running, and, while the trial's own code runs (from
:meth:`~cogym.trial.Trial.start` or :meth:`~cogym.trial.Trial.step` until they return), arms a
POSIX interval timer (``signal.setitimer(ITIMER_REAL)``) whose ``SIGALRM`` handler interrupts the
call that overran. The previous handler and timer are restored when the trial's code returns.
Nothing of this exists, and nothing is added to a tick, for a trial without such limits.

- A trial whose ``max_seconds`` passes ends ``terminated`` before its next tick, as it always
  did, when the call running then returns within :data:`GRACE` seconds (a time budget used up
  by a slow environment is not an error). A call still running :data:`GRACE` seconds past the
  deadline is blocked: it is cut short, and the trial ends ``failed`` ("timed out after 2.0 s
  (max_seconds) at tick 17 in actor 'player' (act), which had not returned 1.0 s later"). The
  ticks before it are recorded; its environment and actors, left in an unknown state, are
  never reused (the next trial gets a new cast).
- An actor that does not answer within its ``response_timeout``, or an ``optional`` one whose
  ``act`` raises (a Cogment service that died, for instance), becomes *unavailable* for the rest
  of the trial, as in Cogment (the note's ``reason`` is then ``"raised: <the error>"``). An
  ``optional`` one is skipped: its ``default_action`` is used on
  that tick and every later one; without a ``default_action`` its action is left out of what the
  environment steps with (an environment that needs every action then fails the trial, naming
  the actor). Each skipped tick carries, as the actor's note, who chose its action:
  ``{"by": "default_action", "reason": "response_timeout", "unavailable_since": 3}`` (``"by":
  "nobody"`` without a default action), which ``cogym trials show`` counts. An actor that is
  not ``optional`` fails the trial, named.

Limits: the timer interrupts Python code (a ``time.sleep``, a loop); C code that does not return
to the interpreter, or that blocks the signal, is not interrupted in-process (in a
``--workers`` run, the parent kills and replaces such a worker). A trial run outside the main
thread, or on a platform without ``SIGALRM``, gets no timer: ``max_seconds`` is checked between
ticks only, and an actor that answers after its ``response_timeout`` is treated, once it returns,
as one that did not answer.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cogym.errors import SpecError, TrialTimeoutError
from cogym.spaces import membership_check, value_from_json

if TYPE_CHECKING:
    from cogym.spec import TrialSpec
    from cogym.trial.recording import TickNotes
    from cogym.trial.values import ActorClass

__all__ = ["Guard", "Interrupt", "Skipped", "can_interrupt", "default_actions"]

_RETRY = 0.002
"""Seconds after which the timer looks again when it fired outside user code."""

GRACE = 1.0
"""Seconds a call into user code may go on past the trial's ``max_seconds`` before it is cut
short: one that returns by then lets the trial end ``terminated`` at the next tick, as a trial
whose deadline passes between ticks does."""


class Interrupt(BaseException):
    """Raised by the timer inside user code, or by the guard when an actor must fail the trial.

    A ``BaseException``, so that the ``except Exception`` of the code it interrupts does not
    swallow it; the trial turns it into a :class:`~cogym.errors.TrialTimeoutError` and never lets
    it out. ``message`` is ``None`` for the interrupt of one actor's call past its
    ``response_timeout``, which the guard handles itself.
    """

    def __init__(self, message: str | None) -> None:
        super().__init__(message)
        self.message = message


class Skipped(Exception):  # noqa: N818  (not an error: an optional actor that gives no action)
    """An unavailable optional actor without ``default_action``: it gives no action this tick."""


@dataclass(frozen=True)
class _Rule:
    timeout: float | None
    optional: bool
    default: Any
    has_default: bool


def can_interrupt() -> bool:
    """Whether this thread can arm the timer (the main thread, on a platform with SIGALRM)."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def default_actions(spec: TrialSpec, actor_classes: Mapping[str, ActorClass]) -> dict[str, Any]:
    """The ``default_action`` of each actor that has one, as a value of its action space; a
    :class:`SpecError` names ``actors[i].default_action`` when it is not in that space."""
    found: dict[str, Any] = {}
    for i, actor in enumerate(spec.actors):
        if actor.default_action is None:
            continue
        field = f"actors[{i}].default_action"
        actor_class = actor_classes.get(actor.name)
        space = None if actor_class is None else actor_class.action_space
        if space is None:
            raise SpecError(
                [(field, f"actor {actor.name!r} observes and takes no action; drop default_action")]
            )
        try:
            value = value_from_json(space, actor.default_action)
            inside = membership_check(space)(value)
        except Exception:  # noqa: BLE001  (any value that does not convert is outside the space)
            inside = False
        if not inside:
            raise SpecError(
                [
                    (
                        field,
                        f"{actor.default_action!r} is not in the action space {space} of actor "
                        f"{actor.name!r}; give an action of that space",
                    )
                ]
            )
        found[actor.name] = value
    return found


class Guard:
    """The timer and the wrapped calls of one trial with deadlines; see the module docstring.

    ``tick`` tells the tick being played, for messages; ``notes`` is where skipped ticks are
    noted; a ``default_action`` outside its actor's space (in ``actor_classes``) is a
    :class:`SpecError`.
    """

    def __init__(
        self,
        spec: TrialSpec,
        trial_id: str,
        deadline: float | None,
        tick: Callable[[], int],
        notes: TickNotes,
        actor_classes: Mapping[str, ActorClass],
    ) -> None:
        self.trial_id = trial_id
        self.max_seconds = spec.max_seconds
        self.deadline = None if deadline is None else deadline + GRACE
        """When a call into user code still running is cut short (``time.monotonic()``)."""
        self.unavailable: set[str] = set()
        self.since: dict[str, int] = {}
        """The tick from which each unavailable actor was skipped."""
        self.spoiled = False
        """Whether a call into user code was interrupted (its environment and actors are then in
        an unknown state, not to be reused)."""
        self._tick = tick
        self._notes = notes
        self._where: str | None = None
        self._call_deadline: float | None = None
        self._previous: tuple[Any, tuple[float, float], float] | None = None
        defaults = default_actions(spec, actor_classes)
        self.rules = {
            a.name: _Rule(
                a.response_timeout, a.optional, defaults.get(a.name), a.name in defaults
            )
            for a in spec.actors
            if a.response_timeout is not None or a.optional
        }
        self.reasons: dict[str, str] = {}
        """Why each unavailable actor became so (``response_timeout``, or ``raised: ...``)."""

    # -- the timer ----------------------------------------------------------------------------

    def arm(self) -> None:
        """Take the timer while the trial's code runs (the previous handler and timer are kept)."""
        if self._previous is not None or not can_interrupt():
            return
        handler = signal.signal(signal.SIGALRM, self._on_alarm)
        self._previous = (handler, signal.getitimer(signal.ITIMER_REAL), time.monotonic())
        self._set(self._remaining(time.monotonic()))

    def held(self, run: Callable[[Any], None], argument: Any,
             timed_out: Callable[[Interrupt], None]) -> None:  # fmt: skip
        """``run(argument)`` with the timer armed; ``timed_out`` hears of a call cut short."""
        self.arm()
        try:
            return run(argument)
        except Interrupt as interrupt:
            timed_out(interrupt)
        finally:
            self.disarm()

    def disarm(self) -> None:
        """Give the timer back: the previous handler, and the previous timer for what was left."""
        previous = self._previous
        if previous is None:
            return
        self._previous = None
        signal.setitimer(signal.ITIMER_REAL, 0)
        handler, (remaining, interval), since = previous
        signal.signal(signal.SIGALRM, signal.SIG_DFL if handler is None else handler)
        if remaining > 0:
            left = remaining - (time.monotonic() - since)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), interval)

    def _remaining(self, now: float) -> float | None:
        ends = [d for d in (self.deadline, self._call_deadline) if d is not None]
        return min(ends) - now if ends else None

    def _set(self, seconds: float | None) -> None:
        if self._previous is None:
            return
        signal.setitimer(signal.ITIMER_REAL, 0 if seconds is None else max(seconds, 1e-6))

    def _on_alarm(self, signum: int, frame: Any) -> None:
        where, now = self._where, time.monotonic()
        if where is None:
            # in cogym's own code: the tick loop looks at the deadline before the next tick;
            # look again soon in case a call into user code starts first
            remaining = self._remaining(now)
            self._set(_RETRY if remaining is not None and remaining <= 0 else remaining)
            return
        call_deadline = self._call_deadline
        if call_deadline is not None and now >= call_deadline:
            self._where = None
            raise Interrupt(None)
        if self.deadline is not None and now >= self.deadline:
            self._where = None
            self.spoiled = True
            raise Interrupt(
                f"trial {self.trial_id}: timed out after {self.max_seconds} s (max_seconds) "
                f"at tick {self._tick()} in {where}, which had not returned {GRACE} s later"
            )
        self._set(self._remaining(now))

    # -- the wrapped calls --------------------------------------------------------------------

    def call(self, where: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """``function``, marked as user code ``where`` ("the environment's step")."""

        def guarded(*args: Any, **kwargs: Any) -> Any:
            self._where = where
            try:
                return function(*args, **kwargs)
            finally:
                self._where = None

        return guarded

    def act(self, name: str, act: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """Actor ``name``'s ``act``, marked, and held to its ``response_timeout`` if it has one."""
        where = f"actor {name!r} (act)"
        rule = self.rules.get(name)
        if rule is None:
            return self.call(where, act)
        timeout = rule.timeout

        def guarded(observation: Any) -> Any:
            if name in self.unavailable:
                return self._skip(name, rule)
            start = time.monotonic()
            if timeout is not None:
                self._call_deadline = start + timeout
                self._set(self._remaining(start))
            self._where = where
            try:
                action = act(observation)
            except Interrupt as exc:
                if exc.message is not None:
                    raise
                self.spoiled = True
                return self._no_answer(name, rule)
            except Exception as exc:
                if not rule.optional:
                    raise
                # an optional actor that raises (a lost service, a crash) becomes unavailable
                return self._no_answer(name, rule, f"raised: {exc}")
            finally:
                self._where = None
                self._call_deadline = None
                self._set(self._remaining(time.monotonic()))
            if (
                timeout is not None and self._previous is None
                and time.monotonic() - start > timeout  # no timer
            ):
                return self._no_answer(name, rule)
            return action

        return guarded

    def _no_answer(self, name: str, rule: _Rule, reason: str = "response_timeout") -> Any:
        if not rule.optional:
            raise Interrupt(
                f"trial {self.trial_id}: actor {name!r} gave no answer within its "
                f"response_timeout of {rule.timeout} s at tick {self._tick()} (act); make it "
                "optional (with a default_action) to skip it instead"
            )
        self.unavailable.add(name)
        self.since[name] = self._tick()
        self.reasons[name] = reason
        return self._skip(name, rule)

    def _skip(self, name: str, rule: _Rule) -> Any:
        self._notes.notes[name] = {
            "by": "default_action" if rule.has_default else "nobody",
            "reason": self.reasons.get(name, "response_timeout"),
            "unavailable_since": self.since[name],
        }
        if rule.has_default:
            return rule.default
        raise Skipped(name)

    def timed_out(self, interrupt: Interrupt) -> TrialTimeoutError:
        """The error a trial ends with for ``interrupt``."""
        return TrialTimeoutError(interrupt.message or f"trial {self.trial_id}: timed out")
