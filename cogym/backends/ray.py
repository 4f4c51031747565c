"""Running trials on a Ray cluster (``cogym run --backend ray``), and reaching Ray.

Each worker is a Ray actor that owns an orchestrator (built by the pool's
:class:`~cogym.backends.base.RunnerFactory`), so its environments and actors are built
once and reused between trials, ``sb3:<model>@latest`` is pinned afresh for every trial from
the registry that all nodes reach, and it records into its own shard of the datastore (a
directory that all nodes reach). The driver keeps two calls queued on each worker and yields
results as trials end. A call holds one trial, or, once trials turn out to take less than
about :data:`CALL_SECONDS`, as many as fill that time (at most :data:`MAX_CHUNK`), so that
Ray's cost per call (about a millisecond) is shared by short trials.

When a worker process dies, Ray restarts the actor and runs the call it was playing again
(``retries`` times at most), with the same trial ids and seeds, so the run goes on and the
trials end as if nothing happened. The attempt that was cut short never reaches the
datastore: a trial is journaled only when it ends, and workers journal each trial before
reporting it, so a trial reported ended is never lost with its worker. (A trial of a
several-trial call that had ended before the death is played again by the retry; the
datastore keeps its first copy, which is identical.) A call that kills its worker at every
attempt is split, and a trial that kills its worker alone at every attempt is reported
``failed``; the trials queued behind it run again.

A trial's own deadlines hold inside its worker as they do in-process (Ray runs the worker's
calls on its main thread, where :mod:`cogym.trial.deadlines` arms its timer). Unlike the local
pool, the driver does not kill a worker stuck past ``max_seconds`` where that timer cannot
reach (C code, ``SIGALRM`` blocked): such a trial holds its worker.

``started`` events are the driver's: a one-trial call is announced when it reaches the head
of its worker's queue; the trials of a several-trial call, when their results come back (with
the time they started on the worker).

:func:`connect` and :func:`worker_cpus` reach a cluster and size workers to its CPUs (for
:class:`~cogym.wrappers.RayVecEnv` too); Ray itself is imported only when they are called.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from cogym.backends.base import RunnerFactory, TaskRunner, check_pool_arguments
from cogym.datalog import Datalog
from cogym.errors import ArgumentError, InputError, MissingExtraError
from cogym.model_source import ModelSource
from cogym.tasks import EventSink, TrialEvent, TrialTask
from cogym.trial import TrialResult
from cogym.trust import PickleWarningState, pickle_warning_state, restore_pickle_warning_state

__all__ = [
    "CALL_SECONDS",
    "MAX_CHUNK",
    "RayPool",
    "TrialWorker",
    "connect",
    "import_ray",
    "worker_cpus",
]

CALL_SECONDS = 0.02
"""Trials shorter than this are sent several to a call, to fill about this much time."""
MAX_CHUNK = 64
"""The most trials one call holds."""
_PREFETCH = 2
_SMOOTHING = 0.2
_REQUEUES = 2
"""How many times a trial may be sent again after calls holding it died, before it is failed."""
_FEATURE = "running trials on Ray (backend='ray')"
PROBE_SECONDS = 5.0
"""How long a cluster address may take to accept a connection, and to answer as a gRPC server
does, before it is refused."""


def import_ray(feature: str) -> ModuleType:
    """The ``ray`` module, or a :class:`~cogym.errors.MissingExtraError` naming the extra."""
    try:
        import ray
    except ImportError as exc:
        raise MissingExtraError(feature, "ray", "ray") from exc
    return ray


def connect(feature: str, address: str | None = None, **init_options: Any) -> ModuleType:
    """Ray, connected to a cluster: the connection this process has, or ``ray.init(address)``.

    With no address, ``ray.init`` joins the cluster that ``RAY_ADDRESS`` or a running
    ``ray start`` on this machine names, or starts a local one. A connection this process
    already has is used as it is (``ray.shutdown()`` ends it); Ray stays connected after a run,
    so the next run does not pay its start-up again. ``init_options`` go to ``ray.init``.
    """
    ray = import_ray(feature)
    if not ray.is_initialized():
        if address is not None:
            check_reachable(address)
        options: dict[str, Any] = {"logging_level": logging.WARNING}
        options.update(init_options)
        try:
            ray.init(address=address, **options)
        except ConnectionError as exc:  # an OSError, which would read as a file's failure
            if address is None:
                raise
            raise ArgumentError(
                f"Ray cluster address {address!r}: a Ray server answers there, but Ray could "
                f"not join its cluster ({exc}). Check that the cluster runs Ray "
                f"{ray.__version__}, as this machine does, and that this machine may join it"
            ) from None
    return ray


def check_reachable(address: str, timeout: float = PROBE_SECONDS) -> None:
    """Refuse a cluster address (``host:port`` or ``ray://host:port``) where nothing accepts a
    connection within ``timeout`` seconds, or where what accepts it does not answer HTTP/2 as
    Ray's gRPC servers do (unless ``RAY_USE_TLS`` is set): ``ray.init`` would wait there for many
    minutes. ``auto``, ``local`` and other forms are left to Ray."""
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        return
    host = host.strip("[]") or "127.0.0.1"
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as connection:
            speaks_grpc = os.environ.get("RAY_USE_TLS", "0") not in ("0", "") or _answers_http2(
                connection, timeout
            )
    except OSError as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
        raise ArgumentError(
            f"Ray cluster address {address!r}: nothing accepts connections at {host}:{port} "
            f"({reason} within {timeout:g} s). Start the cluster there (`ray start --head "
            f"--port {port}`), or give the address that `ray start` printed"
        ) from None
    if not speaks_grpc:
        raise ArgumentError(
            f"Ray cluster address {address!r}: something listens at {host}:{port}, but it does "
            f"not answer as a Ray cluster does (no gRPC reply within {timeout:g} s). Check the "
            "port: give the address that `ray start --head` printed"
        )


_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000")
"""HTTP/2's connection preface and an empty SETTINGS frame: a Ray head (its GCS, or the Ray
Client server behind ``ray://``) is a gRPC server, which answers with a SETTINGS frame."""


def _answers_http2(connection: socket.socket, timeout: float) -> bool:
    """Whether the server on ``connection`` answers HTTP/2's preface with a SETTINGS frame."""
    connection.settimeout(timeout)
    try:
        connection.sendall(_HTTP2_PREFACE)
        head = b""
        while len(head) < 9:  # a frame header: length (3 bytes), type, flags, stream id
            chunk = connection.recv(9 - len(head))
            if not chunk:
                return False
            head += chunk
    except OSError:
        return False
    return head[3] == 0x04


def worker_cpus(ray: ModuleType, count: int, requested: float | None, what: str) -> float:
    """CPUs to reserve per worker: ``requested``, or one each as far as the cluster has them.

    ``min(1, cluster CPUs / count)``: a worker gets a whole core when there are enough, and
    more workers than cores share them (as local processes would) instead of waiting forever
    for cores that do not exist. Pass ``requested`` on an autoscaling cluster.
    """
    if requested is not None:
        if not requested > 0:
            raise InputError(f"CPUs per {what} must be positive, got {requested!r}")
        return float(requested)
    total = float(ray.cluster_resources().get("CPU", 0.0))
    if total <= 0:
        raise InputError(
            f"the Ray cluster has no CPUs to run {what}s on; start it with some "
            "(ray.init(num_cpus=...), `ray start --num-cpus ...`) or name CPUs per "
            f"{what} explicitly"
        )
    return min(1.0, math.floor(total / count * 10_000) / 10_000)


class TrialWorker:
    """What runs inside each Ray actor of a :class:`RayPool`: one orchestrator, one shard."""

    def __init__(
        self,
        runner: RunnerFactory,
        datastore: Datalog | None,
        registry: ModelSource | None,
        pickle_warning: PickleWarningState | None = None,
    ) -> None:
        if pickle_warning is not None:
            # the driver warned already, or saved the models it hands over: warn once per run
            restore_pickle_warning_state(pickle_warning)
        if getattr(datastore, "commit_seconds", 0) > 0:
            # Journal each trial as it ends, before its result is reported: a trial that the
            # driver counts as ended must not be lost if this worker dies a moment later.
            datastore.commit_seconds = 0.0  # type: ignore[union-attr]
        self.orchestrator: TaskRunner = runner(datastore=datastore, registry=registry)

    def run(self, tasks: list[TrialTask]) -> list[TrialResult]:
        return [self.orchestrator.run_task(task) for task in tasks]

    def close(self) -> None:
        """Close environments and actors, and publish this worker's shard."""
        self.orchestrator.close()


@dataclass
class _Call:
    tasks: list[TrialTask]
    ref: Any


@dataclass
class _Worker:
    worker_id: int
    handle: Any
    queue: deque[_Call] = field(default_factory=deque)


_remote_classes: dict[int, Any] = {}


def _remote_worker(ray: ModuleType) -> Any:
    """``ray.remote(TrialWorker)``, made once per Ray module."""
    key = id(ray)
    if key not in _remote_classes:
        _remote_classes[key] = ray.remote(TrialWorker)
    return _remote_classes[key]


class RayPool:
    """Runs trials in ``workers`` Ray actors; a :class:`~cogym.backends.base.WorkerPool`.

    >>> # with Orchestrator(datastore=HDF5Datastore("/shared/trials"), backend="ray") as o:
    >>> #     results = o.run_many(spec, 10_000, workers=32, address="auto")

    ``runner`` builds each worker's orchestrator (``Orchestrator`` itself will do), with
    ``datastore`` and ``registry``; ``address`` names the cluster (see :func:`connect`;
    ``init_options`` go to ``ray.init`` when this process is not connected yet);
    ``cpus_per_worker`` is the
    CPUs each worker reserves (one each, or a share when the cluster has fewer CPUs than
    workers); ``retries`` is how many times Ray runs a call again when its worker died;
    ``close_timeout`` is how long workers get to finish and publish their shards at the end.
    """

    def __init__(
        self,
        workers: int,
        *,
        runner: RunnerFactory,
        datastore: Datalog | None = None,
        registry: ModelSource | None = None,
        address: str | None = None,
        keep_samples: bool = False,
        cpus_per_worker: float | None = None,
        retries: int = 2,
        init_options: dict[str, Any] | None = None,
        close_timeout: float = 60.0,
    ) -> None:
        check_pool_arguments(workers, keep_samples)
        if retries < 0:
            raise ArgumentError(f"retries must be 0 or more, got {retries}")
        self.workers = workers
        self.runner = runner
        self.datastore = datastore
        self.registry = registry
        self.address = address
        self.cpus_per_worker = cpus_per_worker
        self.retries = retries
        self.init_options = dict(init_options or {})
        self.close_timeout = close_timeout
        self._dispatch: _Dispatch | None = None

    def __repr__(self) -> str:
        return (
            f"RayPool(workers={self.workers}, address={self.address!r}, "
            f"datastore={self.datastore!r})"
        )

    def run(self, tasks: Iterable[TrialTask], emit: EventSink) -> Iterator[TrialResult]:
        """Run the tasks, yielding results as trials finish; ``emit`` receives trial events."""
        ray = connect(_FEATURE, self.address, **self.init_options)
        cpus = worker_cpus(ray, self.workers, self.cpus_per_worker, "worker")
        dispatch = self._dispatch = _Dispatch(self, ray, cpus, iter(tasks), emit)
        try:
            yield from dispatch.results()
        finally:
            self.close()

    def close(self) -> None:
        """Let the workers finish what they hold and publish their shards (for at most
        ``close_timeout`` seconds), then end them."""
        dispatch, self._dispatch = self._dispatch, None
        if dispatch is not None:
            dispatch.close(self.close_timeout)


class _Dispatch:
    """The driver's side of one run: queues of calls per worker, deaths, events."""

    def __init__(
        self,
        pool: RayPool,
        ray: ModuleType,
        cpus: float,
        source: Iterator[TrialTask],
        emit: EventSink,
    ) -> None:
        from ray.exceptions import ActorDiedError, RayActorError

        self.worker_died = RayActorError
        self.worker_gone = ActorDiedError
        self.pool = pool
        self.ray = ray
        self.remote = _remote_worker(ray).options(
            num_cpus=cpus,
            max_restarts=-1,
            max_task_retries=pool.retries,
            scheduling_strategy="SPREAD",
        )
        self.source = source
        self.emit = emit
        self.next_id = 0
        self.workers: dict[int, _Worker] = {}
        self.owners: dict[Any, _Worker] = {}
        self.again: deque[TrialTask] = deque()
        """Trials to send again, one per call, before any new one."""
        self.announced: set[int] = set()
        self.behind_a_death: set[int] = set()
        self.requeued: Counter[int] = Counter()
        self.duration: float | None = None
        for _ in range(pool.workers):
            self.spawn()

    def spawn(self) -> None:
        handle = self.remote.remote(
            self.pool.runner, self.pool.datastore, self.pool.registry, pickle_warning_state()
        )
        worker = _Worker(self.next_id, handle)
        self.workers[worker.worker_id] = worker
        self.next_id += 1

    def chunk(self) -> list[TrialTask]:
        if self.again:
            return [self.again.popleft()]
        size = 1
        if self.duration is not None:
            size = max(1, min(MAX_CHUNK, int(CALL_SECONDS / max(self.duration, 1e-6))))
        chunk = []
        for task in self.source:
            chunk.append(task)
            if len(chunk) >= size:
                break
        return chunk

    def feed(self, worker: _Worker) -> None:
        while len(worker.queue) < _PREFETCH:
            tasks = self.chunk()
            if not tasks:
                break
            call = _Call(tasks, worker.handle.run.remote(tasks))
            worker.queue.append(call)
            self.owners[call.ref] = worker
        self.announce_head(worker)

    def announce(self, worker: _Worker, task: TrialTask, when: float) -> None:
        if task.index not in self.announced:
            self.announced.add(task.index)
            self.emit(
                TrialEvent("started", task.trial_id, task.index, when, worker=worker.worker_id)
            )

    def announce_head(self, worker: _Worker) -> None:
        """A one-trial call at the head of its queue is running, unless a death put it in doubt."""
        if worker.queue and len(worker.queue[0].tasks) == 1:
            task = worker.queue[0].tasks[0]
            if task.index not in self.behind_a_death or self.requeued[task.index]:
                self.announce(worker, task, time.time())

    def results(self) -> Iterator[TrialResult]:
        for worker in list(self.workers.values()):
            self.feed(worker)
        while self.owners:
            ready, _ = self.ray.wait(list(self.owners), num_returns=1)
            worker = self.owners[ready[0]]
            # Calls to one actor complete in order, so the head of its queue is done too.
            call = worker.queue.popleft()
            del self.owners[call.ref]
            tasks = {task.index: task for task in call.tasks}
            for result in self.settle(worker, call):
                self.announce(worker, tasks[result.index], result.started)
                self.emit(TrialEvent.finished(result, worker.worker_id))
                self.learn(result)
                yield result
            if worker.worker_id in self.workers:
                self.announce_head(worker)
            for each in list(self.workers.values()):
                self.feed(each)

    def learn(self, result: TrialResult) -> None:
        """Follow how long trials take, to size the calls."""
        seconds = max(0.0, result.ended - result.started)
        if self.duration is None:
            self.duration = seconds
        else:
            self.duration += _SMOOTHING * (seconds - self.duration)

    def settle(self, worker: _Worker, call: _Call) -> list[TrialResult]:
        """The results of a call that is done; a call whose worker died is split or failed."""
        try:
            return self.ray.get(call.ref)
        except self.worker_died as exc:
            self.behind_a_death.update(t.index for c in worker.queue for t in c.tasks)
            if isinstance(exc, self.worker_gone):
                self.replace(worker)
            lost, again = [], []
            for task in call.tasks:
                # Alone in its call, and not merely queued behind a trial that killed the worker:
                # this trial is what killed it, at every one of Ray's attempts.
                guilty = len(call.tasks) == 1 and (
                    task.index not in self.behind_a_death or self.requeued[task.index] > 0
                )
                if guilty or self.requeued[task.index] >= _REQUEUES:
                    lost.append(self.lost(worker, task, exc))
                else:
                    self.requeued[task.index] += 1
                    again.append(task)
            self.again.extendleft(reversed(again))
            return lost

    def lost(self, worker: _Worker, task: TrialTask, exc: BaseException) -> TrialResult:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return task.failed(
            f"Ray worker {worker.worker_id} died while running trial {task.trial_id}; Ray ran "
            f"it {self.pool.retries + 1} time(s) (retries={self.pool.retries}) and it never "
            f"ended ({type(exc).__name__}: {detail})"
        )

    def replace(self, worker: _Worker) -> None:
        """Ray gave up on this actor (it cannot restart): send its trials again, start another."""
        for call in reversed(worker.queue):
            self.owners.pop(call.ref, None)
            self.again.extendleft(reversed(call.tasks))
        worker.queue.clear()
        self.ray.kill(worker.handle, no_restart=True)
        del self.workers[worker.worker_id]
        self.spawn()

    def close(self, timeout: float) -> None:
        """Let workers finish what they hold and publish their shards, then end them."""
        closing = [w.handle.close.remote() for w in self.workers.values()]
        if closing:
            self.ray.wait(closing, num_returns=len(closing), timeout=timeout)
        for worker in self.workers.values():
            self.ray.kill(worker.handle, no_restart=True)
