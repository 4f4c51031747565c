"""The orchestrator: builds trials from specs, runs them, and lets you watch and control them.

    >>> from cogym import Orchestrator, TrialSpec
    >>> spec = TrialSpec.from_dict({"environment": {"implementation": "gym:CartPole-v1"},
    ...                             "actors": [{"name": "player"}], "seed": 0})
    >>> with Orchestrator() as orchestrator:
    ...     result = orchestrator.run(spec)
    >>> result.state.value, result.ticks > 0
    ('ended', True)

Trial ``i`` of a run has seed ``spec.seed + i``, so a run is reproducible whatever the number
of worker processes; environments and actors are built once per process and reset at each
trial start (:mod:`cogym.casts`). Runs of many trials go to a worker pool of
:mod:`cogym.backends`, whose workers each build an orchestrator of their own. Implementations
are found through a :class:`~cogym.directory.Directory`, and a spec's own ``datastore: DIR``
is opened by :func:`~cogym.datalog.open_datalog`, so this module needs neither the model
registry nor the datastore package.
"""

from __future__ import annotations

import functools
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Self

from cogym.actors import EXTERNAL
from cogym.backends import check_backend, make_pool
from cogym.casts import CastCache
from cogym.datalog import Datalog, open_datalog
from cogym.directory import Directory
from cogym.directory import directory as default_directory
from cogym.errors import (
    ArgumentError,
    CogymError,
    InputError,
    SpecError,
    TrialError,
    UnknownImplementationError,
)
from cogym.model_source import ModelSource, RegistryLike, open_model_source
from cogym.seeding import derive_seed
from cogym.spec import TrialSpec
from cogym.tasks import EventSink, EventStream, TrialEvent, TrialTask, new_trial_id
from cogym.trial import Cast, Trial, TrialInfo, TrialRecorder, TrialResult
from cogym.trial.deadlines import default_actions
from cogym.trial.playing import check_renders_frames

__all__ = ["Orchestrator", "PreTrialHook", "TrialEvent", "TrialTask", "new_trial_id"]

PreTrialHook = Callable[[TrialSpec, int], TrialSpec]
"""``hook(spec, index) -> spec``: rewrites a trial's spec before it starts (seed, parameters...)."""

_SEED_LIMIT = 1 << 63


class Orchestrator:
    """Runs trials: in this process, in local worker processes, or on a Ray cluster.

    ``datastore`` is any :class:`~cogym.datalog.Datalog` (an ``HDF5Datastore`` records to
    disk); ``hooks`` rewrite each trial's spec before it starts; ``registry`` (a
    :class:`~cogym.registry.ModelRegistry`, or its directory or URL) is where
    ``sb3:<model>@<ref>`` actors are loaded from; ``backend`` is where runs of many trials go
    unless :meth:`iter_run` says otherwise (``"local"`` or ``"ray"``, see
    :mod:`cogym.backends`).
    """

    def __init__(
        self,
        *,
        datastore: Datalog | None = None,
        registry: RegistryLike = None,
        hooks: Sequence[PreTrialHook] = (),
        directory: Directory | None = None,
        keep_samples: bool = False,
        backend: str = "local",
    ) -> None:
        self.backend = check_backend(backend)
        self.datastore = datastore
        self.registry: ModelSource | None = open_model_source(registry)
        self.hooks = list(hooks)
        self.directory = directory or default_directory
        self.keep_samples = keep_samples
        self._casts = CastCache(self.directory, self.registry)
        self._running: dict[str, Trial] = {}
        self._recent: OrderedDict[str, TrialResult] = OrderedDict()
        self._subscribers: list[EventSink] = []
        self._lock = threading.Lock()
        self._closed = False
        self._spec_datastores: dict[str, Datalog] = {}

    # -- events -------------------------------------------------------------------------------

    def subscribe(self, callback: EventSink) -> Callable[[], None]:
        """Call ``callback(event)`` for every trial event; returns a function that unsubscribes."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def events(self) -> EventStream:
        """An iterator over trial events from now on (use it from another thread, or after runs)."""
        return EventStream(self.subscribe)

    def _emit(self, event: TrialEvent) -> None:
        for callback in list(self._subscribers):
            callback(event)

    # -- control ------------------------------------------------------------------------------

    def running(self) -> list[Trial]:
        """Trials of this process that have started and not finished."""
        with self._lock:
            return list(self._running.values())

    def info(self, trial_id: str) -> Trial | TrialResult:
        """A running trial (state, tick, returns live) or the result of a recent one."""
        with self._lock:
            if trial_id in self._running:
                return self._running[trial_id]
            if trial_id in self._recent:
                return self._recent[trial_id]
        raise TrialError(f"no running or recent trial with id {trial_id!r} in this orchestrator")

    def terminate(self, trial_id: str, reason: str = "terminated on request") -> None:
        """Stop a running trial before its next tick; it ends as ``terminated``."""
        with self._lock:
            trial = self._running.get(trial_id)
        if trial is None:
            raise TrialError(f"no running trial with id {trial_id!r}")
        trial.terminate(reason)

    # -- building trials ----------------------------------------------------------------------

    def check(self, spec: TrialSpec) -> None:
        """Raise one :class:`~cogym.errors.SpecError` naming every unknown implementation."""
        problems = []
        if not self.directory.has_environment(spec.environment.implementation):
            error = UnknownImplementationError(
                "environment", spec.environment.implementation, self.directory.known_environments()
            )
            problems.append(("environment.implementation", str(error)))
        for i, actor in enumerate(spec.actors):
            if not self.directory.has_actor(actor.implementation):
                error = UnknownImplementationError(
                    "actor", actor.implementation, self.directory.known_actors()
                )
                problems.append((f"actors[{i}].implementation", str(error)))
        if problems:
            raise SpecError(problems)

    def validate(self, spec: TrialSpec, source: str | None = None) -> None:
        """Check ``spec`` whole before any trial runs, or raise one
        :class:`~cogym.errors.SpecError` naming the bad field (``source`` names the spec file).

        Beyond :meth:`check`: the environment is built from its config, the actors bind to
        its agents and are built (models loaded, spaces compared), each ``default_action`` is
        in its actor's action space, and a spec that records frames has an environment that
        renders them. What is built stays for the first trial
        of this process; :meth:`iter_run` calls this before its first trial.
        """
        self.check(spec)
        try:
            key, cast = self._casts.take(spec)
        except SpecError as exc:
            raise SpecError(exc.problems, source) from None
        except InputError as exc:
            raise SpecError([(exc.field or "environment", str(exc))], source) from None
        try:
            try:
                default_actions(spec, cast.actor_classes)
            except SpecError as exc:
                raise SpecError(exc.problems, source) from None
            recorded = self.datastore is not None or spec.datastore is not None
            check_renders_frames(spec, cast.environment, recorded, source)
        finally:
            self._casts.give(spec, key, cast)

    def prepare(self, spec: TrialSpec, index: int = 0, seed: int | None = None) -> TrialTask:
        """Apply the hooks and fix the seed of trial ``index`` of a run of ``spec``."""
        base = spec.seed if spec.seed is not None else secrets.randbits(31)
        spec = spec.with_seed((base + index) % _SEED_LIMIT if seed is None else seed)
        for hook in self.hooks:
            changed = hook(spec, index)
            if not isinstance(changed, TrialSpec):
                raise TypeError(
                    f"pre-trial hook {getattr(hook, '__name__', hook)!r} returned "
                    f"{type(changed).__name__}; it must return a TrialSpec"
                )
            spec = changed
        return TrialTask(index=index, trial_id=new_trial_id(), spec=spec, seed=spec.seed)

    def start(
        self,
        spec: TrialSpec,
        *,
        seed: int | None = None,
        index: int = 0,
        trial_id: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Trial:
        """Build and start a trial; drive its external actors with :meth:`Trial.step`.

        ``options`` go to the environment's ``reset`` (as Gymnasium's and PettingZoo's
        ``reset(options=...)``); they are not recorded, so a replay resets without them."""
        task = self.prepare(spec, index, seed)
        if trial_id is not None:
            task = TrialTask(task.index, trial_id, task.spec, task.seed)
        trial = self._build(task)
        try:
            trial.start(options)
        except CogymError:
            if trial.result is None:
                raise
        return trial

    def _build(self, task: TrialTask) -> Trial:
        if self._closed:
            raise TrialError("this orchestrator is closed")
        # a trial starts when it is taken up, before its implementations are resolved: one
        # started after a model version was published runs that version (or a newer one)
        started = time.time()
        spec = task.spec
        key, cast = self._casts.take(spec)
        try:
            recorder = self._begin_recording(task, cast, started)
        except BaseException:
            self._casts.give(spec, key, cast)
            raise
        trial = Trial(
            spec,
            trial_id=task.trial_id,
            seed=task.seed,
            cast=cast,
            actor_seeds=_actor_seeds(spec, task.seed),
            recorder=recorder,
            on_finish=self._release(spec, key, cast),
            index=task.index,
            keep_samples=self.keep_samples,
            started=started,
        )
        with self._lock:
            self._running[task.trial_id] = trial
        if self._subscribers:
            self._emit(TrialEvent("started", task.trial_id, task.index, started))
        return trial

    def _begin_recording(self, task: TrialTask, cast: Cast, started: float) -> TrialRecorder | None:
        """The trial's recorder: from the orchestrator's datastore, or else the spec's own."""
        datastore = self.datastore
        if datastore is None and task.spec.datastore is not None:
            datastore = self._spec_datastore(task.spec.datastore)
        if datastore is None:
            return None
        return datastore.begin(
            TrialInfo(
                trial_id=task.trial_id,
                spec=task.spec,
                seed=task.seed,
                actor_classes=cast.actor_classes,
                implementations=cast.implementations,
                started=started,
                index=task.index,
            )
        )

    def _spec_datastore(self, path: str) -> Datalog:
        """The datastore a spec names (``datastore: DIR``), opened once per directory."""
        key = os.path.abspath(path)
        datastore = self._spec_datastores.get(key)
        if datastore is None:
            datastore = self._spec_datastores[key] = open_datalog(key)
        return datastore

    def _release(self, spec: TrialSpec, key: str, cast: Cast) -> Callable[[TrialResult], None]:
        """What a trial calls as it finishes: its cast goes back, its result is kept and told."""

        def release(result: TrialResult) -> None:
            self._casts.give(spec, key, cast)
            with self._lock:
                self._running.pop(result.trial_id, None)
                self._recent[result.trial_id] = result
                if len(self._recent) > 1000:
                    self._recent.popitem(last=False)
            if self._subscribers:
                self._emit(TrialEvent.finished(result))

        return release

    # -- running ------------------------------------------------------------------------------

    def run(self, spec: TrialSpec, *, seed: int | None = None, index: int = 0) -> TrialResult:
        """Run one trial to its end. A failure ends it as ``failed``; it is not raised."""
        return self.run_task(self.prepare(spec, index, seed))

    def run_task(self, task: TrialTask) -> TrialResult:
        """Run a prepared trial (what workers do)."""
        try:
            trial = self._build(task)
        except CogymError as exc:
            return self._failed_before_start(task, exc)
        return trial.run()

    def _failed_before_start(self, task: TrialTask, exc: BaseException) -> TrialResult:
        result = task.failed(f"{type(exc).__name__}: {exc}")
        self._emit(TrialEvent.finished(result))
        return result

    def iter_run(
        self,
        spec: TrialSpec,
        trials: int = 1,
        *,
        workers: int = 1,
        backend: str | None = None,
        batch: int | None = None,
        **backend_options: Any,
    ) -> Iterator[TrialResult]:
        """Run ``trials`` trials of ``spec``, yielding each result as its trial finishes.

        ``batch=K`` runs them in this process, K at a time in lockstep
        (:class:`~cogym.lockstep.Lockstep`): the SB3 actors of one model across those trials
        act in one batched forward pass per tick, with the results, seeds and recordings of
        running the trials one by one.

        ``workers > 1`` runs them in that many local processes (``backend="local"``), at most
        one per trial;
        ``backend="ray"`` runs them in that many Ray actors, and ``backend_options`` go to
        :class:`~cogym.backends.ray.RayPool` (``address=`` names the cluster). The backend
        defaults to the orchestrator's.
        """
        backend = check_backend(self.backend if backend is None else backend)
        if trials < 1:
            raise ArgumentError(f"trials must be at least 1, got {trials}")
        if workers < 1:
            raise ArgumentError(f"workers must be at least 1, got {workers}")
        if batch is not None and (
            isinstance(batch, bool) or not isinstance(batch, int) or batch < 1
        ):
            raise ArgumentError(f"batch must be an int of at least 1, got {batch!r}")
        if batch is not None and (workers != 1 or backend != "local"):
            raise ArgumentError(
                f"batch={batch} runs trials in lockstep in this process; it cannot be combined "
                f"with workers={workers} or backend={backend!r} (leave those out)"
            )
        self.validate(spec)
        driven = [(i, a.name) for i, a in enumerate(spec.actors) if a.implementation == EXTERNAL]
        if driven:
            raise SpecError([
                (f"actors[{i}].implementation", f"actor {name!r} is external, and these trials "
                 "play on their own: drive it through TrialGymEnv, TrialParallelEnv or "
                 "TrialVecEnv, or give it an implementation that acts")
                for i, name in driven
            ])  # fmt: skip
        if spec.seed is None:
            spec = spec.replace(seed=secrets.randbits(31))
        tasks = (self.prepare(spec, i) for i in range(trials))
        if batch is not None:
            yield from self._run_in_lockstep(spec, tasks, batch)
            return
        workers = min(workers, trials)  # a worker without a trial would only cost its start
        if backend == "local" and workers == 1:
            for task in tasks:
                yield self.run_task(task)
            return
        runner = Orchestrator  # the workers' orchestrators build from this one's directory
        if self.directory is not default_directory:
            runner = functools.partial(Orchestrator, directory=self.directory)  # type: ignore[assignment]
        pool = make_pool(
            backend,
            workers,
            runner=runner,
            datastore=self.datastore,
            registry=self.registry,
            **backend_options,
        )
        try:
            yield from pool.run(tasks, self._emit)
        finally:
            pool.close()

    def _run_in_lockstep(
        self, spec: TrialSpec, tasks: Iterator[TrialTask], batch: int
    ) -> Iterator[TrialResult]:
        from cogym.lockstep import Lockstep

        # trials with deadlines share the process's one interval timer: those run one by one
        lockstep = Lockstep(enabled=not spec.has_deadlines)
        runs = (functools.partial(self.run_task, task) for task in tasks)
        for _, result, error in lockstep.each(runs, batch):
            if error is not None:
                raise error
            yield result  # type: ignore[misc]

    def run_many(
        self,
        spec: TrialSpec,
        trials: int = 1,
        *,
        workers: int = 1,
        backend: str | None = None,
        batch: int | None = None,
        **backend_options: Any,
    ) -> list[TrialResult]:
        """Run ``trials`` trials and return their results in trial order (see :meth:`iter_run`;
        ``batch=K``: K at a time in lockstep, SB3 actors batched).

        >>> spec = TrialSpec.from_dict({"environment": {"implementation": "gym:CartPole-v1"},
        ...                             "actors": [{"name": "player"}], "seed": 0})
        >>> with Orchestrator() as orchestrator:
        ...     one_by_one = orchestrator.run_many(spec, 4)
        ...     batched = orchestrator.run_many(spec, 4, batch=4)
        >>> [r.returns for r in one_by_one] == [r.returns for r in batched]
        True
        """
        results = list(
            self.iter_run(
                spec, trials, workers=workers, backend=backend, batch=batch, **backend_options
            )
        )
        return sorted(results, key=lambda r: r.index if r.index is not None else 0)

    # -- teardown -----------------------------------------------------------------------------

    def close(self) -> None:
        """Terminate running trials and close environments, actors and the datastore."""
        if self._closed:
            return
        for trial in self.running():
            trial.terminate("orchestrator closed")
        self._closed = True
        self._casts.close()
        for datastore in [self.datastore, *self._spec_datastores.values()]:
            close = getattr(datastore, "close", None)
            if callable(close):
                close()

    def __getstate__(self) -> dict[str, Any]:
        """A copy sent to another process carries the configuration, not the running trials."""
        return {
            "datastore": self.datastore,
            "registry": self.registry,
            "hooks": self.hooks,
            "directory": None if self.directory is default_directory else self.directory,
            "keep_samples": self.keep_samples,
            "backend": self.backend,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Orchestrator(datastore={self.datastore!r}, registry={self.registry!r}, "
            f"hooks={len(self.hooks)}, running={len(self._running)})"
        )


def _actor_seeds(spec: TrialSpec, seed: int | None) -> dict[str, int] | None:
    """Each actor's seed, derived from the trial's (``None`` for an unseeded trial)."""
    if seed is None:
        return None
    return {a.name: derive_seed(seed, i + 1) for i, a in enumerate(spec.actors)}
