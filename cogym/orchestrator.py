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
trial start.
"""

from __future__ import annotations

import itertools
import os
import queue
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cogym.actors import EXTERNAL
from cogym.datalog import Datalog
from cogym.directory import BuiltActor, Directory
from cogym.directory import directory as default_directory
from cogym.environment import ActorClass
from cogym.errors import CogymError, SpecError, TrialError, UnknownImplementationError
from cogym.registry.store import ModelRegistry, as_registry
from cogym.seeding import derive_seed
from cogym.spec import TrialSpec
from cogym.trial import Cast, Trial, TrialInfo, TrialResult, TrialState

__all__ = ["Orchestrator", "TrialEvent", "TrialTask", "PreTrialHook", "new_trial_id"]

PreTrialHook = Callable[[TrialSpec, int], TrialSpec]
"""``hook(spec, index) -> spec``: rewrites a trial's spec before it starts (seed, parameters...)."""

_SEED_LIMIT = 1 << 63


_ID_TAG = secrets.token_hex(3)
_id_counter = itertools.count()


def new_trial_id() -> str:
    """A fresh trial id, unique across processes; ids sort by creation time."""
    return f"{time.time_ns() // 1000:013x}{_ID_TAG}{next(_id_counter) & 0xFFFF:04x}"


def _reseed_ids_after_fork() -> None:
    global _ID_TAG
    _ID_TAG = secrets.token_hex(3)


os.register_at_fork(after_in_child=_reseed_ids_after_fork)


@dataclass(frozen=True)
class TrialTask:
    """One trial to run: what the orchestrator hands to a worker."""

    index: int
    trial_id: str
    spec: TrialSpec
    seed: int | None

    def failed(self, error: str) -> TrialResult:
        """The result of this trial when it could not run at all."""
        now = time.time()
        return TrialResult(
            trial_id=self.trial_id,
            state=TrialState.FAILED,
            ticks=0,
            returns={a.name: 0.0 for a in self.spec.actors},
            seed=self.seed,
            spec=self.spec,
            started=now,
            ended=now,
            error=error,
            index=self.index,
        )


@dataclass(frozen=True)
class TrialEvent:
    """Something that happened to a trial: ``started``, ``ended``, ``failed`` or ``terminated``."""

    kind: str
    trial_id: str
    index: int | None
    time: float
    result: TrialResult | None = field(default=None, repr=False)
    worker: int | None = None

    @property
    def error(self) -> str | None:
        return self.result.error if self.result is not None else None


class _Pool:
    """Idle casts by spec, so that each in-flight trial has its own environment and actors."""

    def __init__(self) -> None:
        self.idle: dict[Any, list[Any]] = {}
        self.all: list[Any] = []

    def take(self, key: Any) -> Any | None:
        stack = self.idle.get(key)
        return stack.pop() if stack else None

    def give(self, key: Any, item: Any) -> None:
        self.idle.setdefault(key, []).append(item)

    def retire(self, cast: Cast) -> None:
        """Close a cast that will not be used again."""
        self.all.remove(cast)
        cast.close()


BACKENDS = ("local", "ray")
"""Where :meth:`Orchestrator.iter_run` runs trials: local processes, or a Ray cluster."""


def _check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; use one of {', '.join(map(repr, BACKENDS))}")
    return backend


class Orchestrator:
    """Runs trials: in this process, in local worker processes, or on a Ray cluster.

    ``datastore`` is any :class:`~cogym.datalog.Datalog` (an ``HDF5Datastore`` records to
    disk); ``hooks`` rewrite each trial's spec before it starts; ``registry`` (a
    :class:`~cogym.registry.ModelRegistry`, or its directory or URL) is where
    ``sb3:<model>@<ref>`` actors are loaded from; ``backend`` is where runs of many trials go
    unless :meth:`iter_run` says otherwise (``"local"`` or ``"ray"``, see
    :mod:`cogym.distributed.ray_pool`).
    """

    def __init__(
        self,
        *,
        datastore: Datalog | None = None,
        registry: ModelRegistry | str | os.PathLike[str] | None = None,
        hooks: Sequence[PreTrialHook] = (),
        directory: Directory | None = None,
        keep_samples: bool = False,
        backend: str = "local",
    ) -> None:
        self.backend = _check_backend(backend)
        self.datastore = datastore
        self.registry = as_registry(registry)
        self.hooks = list(hooks)
        self.directory = directory or default_directory
        self.keep_samples = keep_samples
        self._casts = _Pool()
        self._pinnable: dict[str, bool] = {}
        self._current_pins: dict[str, str] = {}
        self._running: dict[str, Trial] = {}
        self._recent: OrderedDict[str, TrialResult] = OrderedDict()
        self._subscribers: list[Callable[[TrialEvent], None]] = []
        self._lock = threading.Lock()
        self._closed = False
        self._spec_datastores: dict[str, Datalog] = {}

    # -- events -------------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[TrialEvent], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for every trial event; returns a function that unsubscribes."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def events(self) -> EventStream:
        """An iterator over trial events from now on (use it from another thread, or after runs)."""
        stream = EventStream()
        stream._unsubscribe = self.subscribe(stream._put)
        return stream

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
    ) -> Trial:
        """Build and start a trial; drive its external actors with :meth:`Trial.step`."""
        task = self.prepare(spec, index, seed)
        if trial_id is not None:
            task = TrialTask(task.index, trial_id, task.spec, task.seed)
        trial = self._build(task)
        try:
            trial.start()
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
        key = spec.cast_key
        pinnable = self._pinnable.get(key)
        if pinnable is None:
            pinnable = self._pinnable[key] = any(
                self.directory.pins(a.implementation) for a in spec.actors
            )
        cast_spec = self._pin(spec) if pinnable else spec
        key = cast_spec.cast_key
        if pinnable:
            self._retire_stale_casts(spec.cast_key, key)
        cast = self._casts.take(key)
        if cast is None:
            cast = self._make_cast(cast_spec)
            self._casts.all.append(cast)
        recorder = None
        datastore = self.datastore
        if datastore is None and spec.datastore is not None:
            datastore = self._spec_datastore(spec.datastore)
        if datastore is not None:
            try:
                recorder = datastore.begin(
                    TrialInfo(
                        trial_id=task.trial_id,
                        spec=spec,
                        seed=task.seed,
                        actor_classes=cast.actor_classes,
                        implementations=cast.implementations,
                        started=started,
                        index=task.index,
                    )
                )
            except BaseException:
                self._casts.give(key, cast)
                raise

        def release(result: TrialResult) -> None:
            if pinnable and self._current_pins.get(spec.cast_key) != key:
                self._casts.retire(cast)
            else:
                self._casts.give(key, cast)
            with self._lock:
                self._running.pop(result.trial_id, None)
                self._recent[result.trial_id] = result
                if len(self._recent) > 1000:
                    self._recent.popitem(last=False)
            if self._subscribers:
                self._emit(TrialEvent(result.state.value, result.trial_id, result.index, result.ended, result))

        seed = task.seed
        seeds = (
            {a.name: derive_seed(seed, i + 1) for i, a in enumerate(spec.actors)}
            if seed is not None
            else None
        )
        trial = Trial(
            spec,
            trial_id=task.trial_id,
            seed=seed,
            cast=cast,
            actor_seeds=seeds,
            recorder=recorder,
            on_finish=release,
            index=task.index,
            keep_samples=self.keep_samples,
            started=started,
        )
        with self._lock:
            self._running[task.trial_id] = trial
        if self._subscribers:
            self._emit(TrialEvent("started", task.trial_id, task.index, started))
        return trial

    def _retire_stale_casts(self, spec_key: str, pinned_key: str) -> None:
        """Close the idle casts of a spec's previous pin (say ``model@6`` once ``@latest`` is 7)."""
        previous = self._current_pins.get(spec_key)
        self._current_pins[spec_key] = pinned_key
        if previous is not None and previous != pinned_key:
            for cast in self._casts.idle.pop(previous, []):
                self._casts.retire(cast)

    def _spec_datastore(self, path: str) -> Datalog:
        """The datastore a spec names (``datastore: DIR``), opened once per directory."""
        key = os.path.abspath(path)
        datastore = self._spec_datastores.get(key)
        if datastore is None:
            from cogym.datastore import HDF5Datastore

            datastore = self._spec_datastores[key] = HDF5Datastore(key)
        return datastore

    def _pin(self, spec: TrialSpec) -> TrialSpec:
        """The spec with moving implementation references (``@latest``) fixed for one trial."""
        actors = []
        changed = False
        for actor in spec.actors:
            pinned = self.directory.pin(actor.implementation, self.registry)
            changed = changed or pinned != actor.implementation
            actors.append(actor.model_dump(mode="json") | {"implementation": pinned})
        return spec.replace(actors=actors) if changed else spec

    def _make_cast(self, spec: TrialSpec) -> Cast:
        environment = self.directory.make_environment(
            spec.environment.implementation, spec.environment.config
        )
        built: list[Any] = []
        try:
            classes = environment.bind(spec.actors)
            actors: dict[str, Any] = {}
            externals: list[str] = []
            trusted = set()
            implementations = {}
            for actor_spec in spec.actors:
                if actor_spec.implementation == EXTERNAL:
                    externals.append(actor_spec.name)
                    implementations[actor_spec.name] = EXTERNAL
                    continue
                made = self._make_actor(
                    actor_spec.implementation, classes[actor_spec.name], actor_spec.config
                )
                built.append(made.actor)
                actors[actor_spec.name] = made.actor
                implementations[actor_spec.name] = made.implementation
                if made.trusted:
                    trusted.add(actor_spec.name)
        except BaseException:
            for actor in built:
                close = getattr(actor, "close", None)
                if callable(close):
                    close()
            environment.close()
            raise
        return Cast(
            environment,
            classes,
            actors,
            externals=externals,
            trusted=frozenset(trusted),
            implementations=implementations,
        )

    def _make_actor(self, implementation: str, actor_class: ActorClass, config: dict[str, Any]) -> BuiltActor:
        return self.directory.make_actor(implementation, actor_class, config, registry=self.registry)

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
        self._emit(TrialEvent("failed", task.trial_id, task.index, result.ended, result))
        return result

    def iter_run(
        self,
        spec: TrialSpec,
        trials: int = 1,
        *,
        workers: int = 1,
        backend: str | None = None,
        **backend_options: Any,
    ) -> Iterator[TrialResult]:
        """Run ``trials`` trials of ``spec``, yielding each result as its trial finishes.

        ``workers > 1`` runs them in that many local processes (``backend="local"``);
        ``backend="ray"`` runs them in that many Ray actors, and ``backend_options`` go to
        :class:`~cogym.distributed.RayPool` (``address=`` names the cluster). The backend
        defaults to the orchestrator's.
        """
        backend = _check_backend(self.backend if backend is None else backend)
        if trials < 1:
            raise ValueError(f"trials must be at least 1, got {trials}")
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.check(spec)
        if spec.seed is None:
            spec = spec.replace(seed=secrets.randbits(31))
        tasks = (self.prepare(spec, i) for i in range(trials))
        if backend == "local" and workers == 1:
            for task in tasks:
                yield self.run_task(task)
            return
        if backend == "local":
            from cogym.pool import LocalPool

            pool = LocalPool(
                workers,
                datastore=self.datastore,
                registry=self.registry,
                keep_samples=False,
                **backend_options,
            )
        else:
            from cogym.distributed.ray_pool import RayPool

            pool = RayPool(
                workers,
                datastore=self.datastore,
                registry=self.registry,
                keep_samples=False,
                **backend_options,
            )
        yield from pool.run(tasks, self._emit)

    def run_many(
        self,
        spec: TrialSpec,
        trials: int = 1,
        *,
        workers: int = 1,
        backend: str | None = None,
        **backend_options: Any,
    ) -> list[TrialResult]:
        """Run ``trials`` trials and return their results in trial order (see :meth:`iter_run`)."""
        results = list(
            self.iter_run(spec, trials, workers=workers, backend=backend, **backend_options)
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
        for cast in self._casts.all:
            cast.close()
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

    def __enter__(self) -> Orchestrator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Orchestrator(datastore={self.datastore!r}, registry={self.registry!r}, "
            f"hooks={len(self.hooks)}, running={len(self._running)})"
        )


class EventStream(Iterator[TrialEvent]):
    """Iterator over trial events; ``close()`` stops it (iteration then ends)."""

    _END = object()

    def __init__(self) -> None:
        self._queue: queue.Queue[Any] = queue.Queue()
        self._unsubscribe: Callable[[], None] | None = None

    def _put(self, event: TrialEvent) -> None:
        self._queue.put(event)

    def __next__(self) -> TrialEvent:
        item = self._queue.get()
        if item is self._END:
            raise StopIteration
        return item

    def get(self, timeout: float | None = None) -> TrialEvent | None:
        """The next event, or ``None`` after ``timeout`` seconds."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is self._END:
            self._queue.put(item)
            return None
        return item

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._queue.put(self._END)


