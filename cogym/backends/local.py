"""Running trials in local worker processes (``cogym run --workers N``).

Each worker is a process with its own orchestrator (and so its own environments, actors and
datastore shard), built by the pool's :class:`~cogym.backends.base.RunnerFactory` and connected
to the parent by a pipe. The parent hands out trials one or two at a time per worker, and a
worker reports each start before running the trial, so when a worker dies the parent knows
which trial was in flight: that trial is reported as ``failed``, the trials not yet started go
to other workers, and a fresh worker takes the dead one's place.

The parent also knows when each running trial must end: its ``max_seconds`` from the moment the
worker reported its start, plus :data:`_GRACE` seconds (time for the trial's own timer to act
first). A worker whose trial is still running then is stuck in code that the trial's timer
could not interrupt (C code, or a blocked ``SIGALRM``): it is killed and replaced in the same
way, and its trial reported ``failed`` as timed out; the ticks it had played are lost with it.

A worker that fails outside any trial (its orchestrator cannot be built, say) raises
:class:`~cogym.errors.WorkerLostError` in the parent, with the worker's traceback.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import pickle
import signal
import sys
import time
import traceback
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib.machinery import PathFinder
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from cogym.backends.base import RunnerFactory, check_pool_arguments
from cogym.datalog import Datalog
from cogym.errors import ArgumentError, MainModuleError, WorkerLostError
from cogym.model_source import ModelSource
from cogym.tasks import EventSink, TrialEvent, TrialTask
from cogym.trial import TrialResult
from cogym.trial.deadlines import GRACE
from cogym.trust import PickleWarningState, pickle_warning_state, restore_pickle_warning_state

__all__ = ["LocalPool"]

_PREFETCH = 2
_ATTEMPTS = 2
"""How many workers may die on a trial before it is reported as failed, though never started."""
_GRACE = GRACE + 2.0
"""Seconds past a trial's ``max_seconds`` before the parent kills the worker running it: the
grace of the trial's own timer (:data:`cogym.trial.deadlines.GRACE`), and two more."""
_UNGUARDED_MAIN = 86
"""The exit code of a worker that found itself re-running an unguarded main script."""


def _worker_main(
    connection: Connection,
    runner: RunnerFactory,
    datastore: Datalog | None,
    registry: ModelSource | None,
    pickle_warning: PickleWarningState,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # the parent warned already, or saved the models it hands over: a run warns once at most
    restore_pickle_warning_state(pickle_warning)
    try:
        orchestrator = runner(datastore=datastore, registry=registry)

        def forward(event: TrialEvent) -> None:
            if event.kind == "started":
                connection.send(("started", event.index, event.trial_id, event.time))

        orchestrator.subscribe(forward)
        while True:
            task = connection.recv()
            if task is None:
                break
            connection.send(("done", orchestrator.run_task(task)))
        orchestrator.close()
    except (EOFError, BrokenPipeError):
        pass
    except BaseException:  # noqa: BLE001  (reported to the parent, then raised again)
        try:
            connection.send(("crash", traceback.format_exc()))
        finally:
            raise


@dataclass
class _Worker:
    worker_id: int
    process: BaseProcess
    connection: Connection
    assigned: deque[TrialTask] = field(default_factory=deque)
    started: set[int] = field(default_factory=set)
    deadline: float | None = None
    """When the trial it runs must have ended (``time.monotonic()``), if it has a limit."""
    overdue: TrialTask | None = None
    """The trial past its deadline for which the worker was killed."""


class LocalPool:
    """A pool of ``workers`` processes running trials; see the module docstring.

    ``runner`` builds each worker's orchestrator (``Orchestrator`` itself will do), with
    ``datastore`` and ``registry``; ``start_method`` is multiprocessing's (``forkserver`` where
    the platform has it, else ``spawn``).
    """

    def __init__(
        self,
        workers: int,
        *,
        runner: RunnerFactory,
        datastore: Datalog | None = None,
        registry: ModelSource | None = None,
        keep_samples: bool = False,
        start_method: str | None = None,
    ) -> None:
        check_pool_arguments(workers, keep_samples)
        methods = mp.get_all_start_methods()
        self.start_method = start_method or ("forkserver" if "forkserver" in methods else "spawn")
        _check_main_module(self.start_method)
        self.workers = workers
        self.runner = runner
        self.datastore = datastore
        self.registry = registry
        self._context = mp.get_context(self.start_method)
        self._cogym_path = _unshadowed_cogym_path()
        if self.start_method == "forkserver" and self._cogym_path is None:
            # the fork server imports with the working directory first on its path: preloading
            # cogym there is only safe when no folder of that name shadows the installed one
            self._context.set_forkserver_preload(["cogym.backends.local"])
        self._next_id = 0
        self._live: dict[int, _Worker] = {}

    def __repr__(self) -> str:
        return f"LocalPool(workers={self.workers}, datastore={self.datastore!r})"

    def _spawn(self) -> _Worker:
        parent_end, child_end = self._context.Pipe(duplex=True)
        worker_id = self._next_id
        self._next_id += 1
        process = self._context.Process(
            target=_worker_main,
            args=(
                child_end,
                self.runner,
                self.datastore,
                self.registry,
                pickle_warning_state(),
            ),
            name=f"cogym-worker-{worker_id}",
            daemon=True,
        )
        with _worker_path(self._cogym_path):
            try:
                process.start()
            except (pickle.PicklingError, AttributeError, TypeError) as exc:
                child_end.close()
                parent_end.close()
                raise ArgumentError(
                    "the orchestrator of this run, with its directory of implementations, "
                    f"cannot be sent to worker processes: {exc}. Register "
                    "module-level functions or classes in the directory, not lambdas or "
                    "functions defined inside others, or run with workers=1"
                ) from exc
        child_end.close()
        worker = self._live[worker_id] = _Worker(worker_id, process, parent_end)
        return worker

    def run(self, tasks: Iterable[TrialTask], emit: EventSink) -> Iterator[TrialResult]:
        """Run the tasks, yielding results as trials finish; ``emit`` receives trial events."""
        todo: deque[TrialTask] = deque()
        deaths: dict[int, int] = {}
        source = iter(tasks)
        workers = self._live

        def feed(worker: _Worker) -> None:
            while len(worker.assigned) < _PREFETCH:
                task = todo.popleft() if todo else next(source, None)
                if task is None:
                    return
                worker.assigned.append(task)
                worker.connection.send(task)

        try:
            for _ in range(self.workers):
                feed(self._spawn())
            while any(w.assigned for w in workers.values()):
                by_handle: dict[Any, _Worker] = {}
                for worker in workers.values():
                    by_handle[worker.connection] = worker
                    by_handle[worker.process.sentinel] = worker
                for worker in self._kill_overdue():
                    yield from self._bury(worker, todo, deaths, emit)
                    for survivor in list(workers.values()):
                        feed(survivor)
                    by_handle = {h: w for h, w in by_handle.items() if w is not worker}
                for handle in wait(list(by_handle), timeout=self._wait_seconds()):
                    worker = by_handle[handle]
                    if worker.worker_id not in workers:
                        continue
                    if handle is worker.connection:
                        try:
                            message = worker.connection.recv()
                        except (EOFError, OSError):
                            continue
                        result = self._handle(message, worker, emit)
                        if result is not None:
                            feed(worker)
                            yield result
                    else:
                        yield from self._bury(worker, todo, deaths, emit)
                        for survivor in list(workers.values()):
                            feed(survivor)
        finally:
            self.close()

    def _wait_seconds(self) -> float:
        """How long to wait for news: at most a second, and not past a running trial's deadline."""
        deadlines = [w.deadline for w in self._live.values() if w.deadline is not None]
        if not deadlines:
            return 1.0
        return min(1.0, max(0.0, min(deadlines) - time.monotonic()) + 0.01)

    def _kill_overdue(self) -> list[_Worker]:
        """Kill the workers whose trial is past its deadline (they are buried by the caller)."""
        now = time.monotonic()
        killed = []
        for worker in list(self._live.values()):
            if worker.deadline is None or now < worker.deadline:
                continue
            worker.overdue = next(t for t in worker.assigned if t.index in worker.started)
            worker.process.kill()
            worker.process.join(timeout=5)
            killed.append(worker)
        return killed

    def close(self) -> None:
        """Ask the workers to finish (publishing their shards), then end those that linger."""
        workers = list(self._live.values())
        self._live.clear()
        for worker in workers:
            try:
                worker.connection.send(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 5
        for worker in workers:
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(timeout=2)
            worker.connection.close()

    def _handle(
        self, message: tuple[Any, ...], worker: _Worker, emit: EventSink
    ) -> TrialResult | None:
        kind = message[0]
        if kind == "started":
            _, index, trial_id, started = message
            worker.started.add(index)
            task = next((t for t in worker.assigned if t.index == index), None)
            limit = None if task is None else task.spec.max_seconds
            worker.deadline = None if limit is None else time.monotonic() + limit + _GRACE
            emit(TrialEvent("started", trial_id, index, started, worker=worker.worker_id))
            return None
        if kind == "done":
            result: TrialResult = message[1]
            worker.assigned = deque(t for t in worker.assigned if t.index != result.index)
            worker.started.discard(result.index if result.index is not None else -1)
            worker.deadline = None
            emit(TrialEvent.finished(result, worker.worker_id))
            return result
        held = ", ".join(task.trial_id for task in worker.assigned) or "none"
        raise WorkerLostError(
            f"cogym worker process {worker.worker_id} failed outside any trial (trials it held: "
            f"{held}); a trial that raises ends as failed, so this is the worker itself (its "
            f"orchestrator could not be built, or a task could not be sent). Its traceback:\n"
            f"{message[1]}"
        )

    def _bury(
        self,
        worker: _Worker,
        todo: deque[TrialTask],
        deaths: dict[int, int],
        emit: EventSink,
    ) -> Iterator[TrialResult]:
        """Handle a worker that exited: report its in-flight trial, requeue the rest, replace it."""
        while worker.connection.poll():
            try:
                message = worker.connection.recv()
            except (EOFError, OSError):
                break
            result = self._handle(message, worker, emit)
            if result is not None:
                yield result
        del self._live[worker.worker_id]
        worker.process.join(timeout=1)
        code = worker.process.exitcode
        if code == _UNGUARDED_MAIN and not worker.started:
            raise MainModuleError(_unguarded_message(self.start_method))
        for position, task in enumerate(worker.assigned):
            deaths[task.index] = deaths.get(task.index, 0) + (position == 0)
            if task is worker.overdue:
                result = task.failed(
                    f"trial {task.trial_id}: timed out after {task.spec.max_seconds} s "
                    f"(max_seconds) and {_GRACE} s more, in code that its timer could not "
                    f"interrupt (C code, or SIGALRM blocked): worker process {worker.worker_id} "
                    "was killed and replaced; the ticks it had played are lost"
                )
            elif task.index in worker.started or deaths[task.index] >= _ATTEMPTS:
                result = task.failed(
                    f"worker process {worker.worker_id} died (exit code {code}) while "
                    f"running trial {task.trial_id}"
                )
            else:
                todo.append(task)
                continue
            emit(TrialEvent.finished(result, worker.worker_id))
            yield result
        worker.connection.close()
        self._spawn()


def _check_main_module(start_method: str) -> None:
    """Refuse what would make every worker fail as it starts, before any worker starts.

    With the ``spawn`` and ``forkserver`` start methods each worker re-imports the main script
    of the program. A script without ``if __name__ == "__main__":`` then runs its trials again
    in the worker, which would start workers of its own: such a worker exits at once with
    :data:`_UNGUARDED_MAIN`, and the parent raises one :class:`MainModuleError`. A program
    read from standard input has no script to re-import.
    """
    if start_method == "fork":
        return
    if getattr(mp.current_process(), "_inheriting", False):
        # this is a worker re-running the parent's main script: tell the parent, say nothing
        os._exit(_UNGUARDED_MAIN)
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is not None and not os.path.isfile(path):
        raise MainModuleError(
            f"the program runs from {path}, not from a file: its worker processes ("
            f"multiprocessing's {start_method} start method) re-import the main script, and "
            "there is none. Save the program as a script with the code that runs trials under "
            '`if __name__ == "__main__":`, or run with workers=1'
        )


def _unguarded_message(start_method: str) -> str:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", "the main script")
    return (
        f"{path} runs trials when it is imported: each worker process re-imports it "
        f"(multiprocessing's {start_method} start method) and would start workers of its own. "
        'Put the code that runs trials under `if __name__ == "__main__":` (as the README '
        "shows), or run with workers=1"
    )


def _unshadowed_cogym_path() -> str | None:
    """The folder to put first on the workers' path so that they import this cogym, when a
    folder named ``cogym`` in the working directory or on ``sys.path`` would shadow it (a
    clone's own folder, seen from its parent: a namespace package); else ``None``.

    A worker re-imports cogym through the path its parent had (and a fork server through the
    working directory); an editable install is found by a finder that comes after those.
    """
    import cogym

    mine = Path(cogym.__file__).resolve()
    found = PathFinder.find_spec("cogym", [os.getcwd(), *sys.path])
    if found is None or (found.origin is not None and Path(found.origin).resolve() == mine):
        return None
    return str(mine.parent.parent)


@contextlib.contextmanager
def _worker_path(first: str | None) -> Iterator[None]:
    """``sys.path`` with ``first`` ahead while a worker starts (it copies its parent's path)."""
    if first is None:
        yield
        return
    saved = list(sys.path)
    sys.path.insert(0, first)
    try:
        yield
    finally:
        sys.path[:] = saved
