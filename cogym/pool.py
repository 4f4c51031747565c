"""Running trials in local worker processes (``cogym run --workers N``).

Each worker is a process with its own orchestrator (and so its own environments, actors and
datastore shard). The parent hands out trials one or two at a time per worker, so that when a
worker dies it knows exactly which trial was in flight: that trial is reported as ``failed``,
the trials not yet started go to other workers, and a fresh worker takes the dead one's place.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import signal
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cogym.orchestrator import Orchestrator, TrialEvent, TrialTask
from cogym.trial import TrialResult, TrialState

__all__ = ["LocalPool"]

_PREFETCH = 2


def _worker_main(
    worker_id: int,
    tasks: Any,
    results: Any,
    datastore: Any,
    registry: Any,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        orchestrator = Orchestrator(datastore=datastore, registry=registry)

        def forward(event: TrialEvent) -> None:
            if event.kind == "started":
                results.put(("started", worker_id, event.index, event.trial_id, event.time))

        orchestrator.subscribe(forward)
        while True:
            task = tasks.get()
            if task is None:
                break
            result = orchestrator.run_task(task)
            results.put(("done", worker_id, result))
        orchestrator.close()
    except BaseException:
        results.put(("crash", worker_id, traceback.format_exc()))
        raise


@dataclass
class _Worker:
    worker_id: int
    process: Any
    tasks: Any
    assigned: deque[TrialTask] = field(default_factory=deque)
    started: set[int] = field(default_factory=set)


class LocalPool:
    """A pool of ``workers`` processes running trials; see the module docstring."""

    def __init__(
        self,
        workers: int,
        *,
        datastore: Any = None,
        registry: Any = None,
        keep_samples: bool = False,
        start_method: str | None = None,
    ) -> None:
        if keep_samples:
            raise ValueError("keep_samples works in-process only; record to a datastore instead")
        self.workers = workers
        self.datastore = datastore
        self.registry = registry
        methods = mp.get_all_start_methods()
        self.start_method = start_method or ("forkserver" if "forkserver" in methods else "spawn")
        self._context = mp.get_context(self.start_method)
        if self.start_method == "forkserver":
            self._context.set_forkserver_preload(["cogym.pool"])
        self._next_id = 0

    def _spawn(self, results: Any) -> _Worker:
        tasks = self._context.SimpleQueue()
        worker_id = self._next_id
        self._next_id += 1
        process = self._context.Process(
            target=_worker_main,
            args=(worker_id, tasks, results, self.datastore, self.registry),
            name=f"cogym-worker-{worker_id}",
            daemon=True,
        )
        process.start()
        return _Worker(worker_id, process, tasks)

    def run(
        self, tasks: Iterable[TrialTask], emit: Callable[[TrialEvent], None]
    ) -> Iterator[TrialResult]:
        """Run the tasks, yielding results as trials finish; ``emit`` receives trial events."""
        results = self._context.Queue()
        todo: deque[TrialTask] = deque()
        source = iter(tasks)
        workers = {w.worker_id: w for w in (self._spawn(results) for _ in range(self.workers))}

        def next_task() -> TrialTask | None:
            if todo:
                return todo.popleft()
            return next(source, None)

        def feed(worker: _Worker) -> None:
            while len(worker.assigned) < _PREFETCH:
                task = next_task()
                if task is None:
                    return
                worker.assigned.append(task)
                worker.tasks.put(task)

        try:
            for worker in workers.values():
                feed(worker)
            while any(w.assigned for w in workers.values()):
                try:
                    message = results.get(timeout=0.2)
                except queue.Empty:
                    for worker in list(workers.values()):
                        if worker.process.is_alive():
                            continue
                        yield from self._replace_dead(worker, workers, todo, results, emit)
                        feed(workers[max(workers)])
                    continue
                kind, worker_id = message[0], message[1]
                worker = workers.get(worker_id)
                if kind == "started":
                    _, _, index, trial_id, started = message
                    if worker is not None:
                        worker.started.add(index)
                    emit(TrialEvent("started", trial_id, index, started, worker=worker_id))
                elif kind == "done":
                    result: TrialResult = message[2]
                    if worker is not None:
                        worker.assigned = deque(
                            t for t in worker.assigned if t.index != result.index
                        )
                        worker.started.discard(result.index if result.index is not None else -1)
                        feed(worker)
                    emit(TrialEvent(result.state.value, result.trial_id, result.index, result.ended, result, worker_id))
                    yield result
                elif kind == "crash":
                    raise RuntimeError(f"cogym worker {worker_id} crashed:\n{message[2]}")
        finally:
            for worker in workers.values():
                if worker.process.is_alive():
                    try:
                        worker.tasks.put(None)
                    except (OSError, ValueError):
                        pass
            deadline = time.monotonic() + 5
            for worker in workers.values():
                worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
                if worker.process.is_alive():
                    worker.process.terminate()
                    worker.process.join(timeout=2)
            results.close()

    def _replace_dead(
        self,
        worker: _Worker,
        workers: dict[int, _Worker],
        todo: deque[TrialTask],
        results: Any,
        emit: Callable[[TrialEvent], None],
    ) -> Iterator[TrialResult]:
        del workers[worker.worker_id]
        code = worker.process.exitcode
        for task in worker.assigned:
            if task.index in worker.started:
                now = time.time()
                result = TrialResult(
                    trial_id=task.trial_id,
                    state=TrialState.FAILED,
                    ticks=0,
                    returns={a.name: 0.0 for a in task.spec.actors},
                    seed=task.seed,
                    spec=task.spec,
                    started=now,
                    ended=now,
                    error=(
                        f"worker process {worker.worker_id} died (exit code {code}) while "
                        f"running trial {task.trial_id}"
                    ),
                    index=task.index,
                )
                emit(TrialEvent("failed", task.trial_id, task.index, now, result, worker.worker_id))
                yield result
            else:
                todo.append(task)
        replacement = self._spawn(results)
        workers[replacement.worker_id] = replacement
