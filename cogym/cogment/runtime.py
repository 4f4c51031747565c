"""The Cogment SDK, imported on first use, and the asyncio loops its participants run on.

cogym's tick loop is synchronous; Cogment's SDK and gRPC streams are asyncio. The tick loop
hands a participant's loop one coroutine per call (an environment's step, an actor's act) and
gets the result within a deadline, so a participant that never answers fails its trial instead
of blocking it. Two kinds of loop take the calls, with the same ``call``:

- :class:`BackgroundLoop`: served participants (their gRPC channels) share one loop per process,
  running in a daemon thread, so their streams are read (heartbeats answered) between ticks too;
- :class:`DrivenLoop`: each in-process participant has a loop of its own that runs only inside a
  call, in the calling thread: no thread crossing per tick. Its SDK session has nothing to do
  between calls: everything it reacts to comes through them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from cogym.errors import CogmentError, MissingExtraError

__all__ = ["BackgroundLoop", "DrivenLoop", "background_loop", "require_sdk"]

FORCED_INSTALL = "pip install --no-deps --ignore-requires-python cogment==2.10.1 cogment-lab==0.1.5"
"""The SDK declares Python < 3.11 and old grpcio/protobuf pins, yet runs on current ones."""


def require_sdk() -> None:
    """Import the Cogment SDK, or say how to install it."""
    try:
        import cogment  # noqa: F401
        import grpc  # noqa: F401
    except ImportError as exc:
        error = MissingExtraError("Cogment participants", "cogment", exc.name or "cogment")
        raise CogmentSdkMissing(
            f"{error}; then install the SDK itself, whose metadata pins old versions: "
            f"{FORCED_INSTALL}"
        ) from exc
    # the SDK warns once per Context that no logging handler is set; cogym's users have theirs
    logging.getLogger("cogment.sdk").addHandler(logging.NullHandler())


class CogmentSdkMissing(MissingExtraError):
    """The Cogment SDK is not installed (the message gives both install steps)."""

    def __init__(self, message: str) -> None:
        ImportError.__init__(self, message)
        self.extra = "cogment"


class BackgroundLoop:
    """An asyncio loop in a daemon thread; :meth:`call` runs a coroutine there and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run, name="cogym-cogment-loop", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coroutine: Coroutine[Any, Any, Any], timeout: float, what: str) -> Any:
        """The result of ``coroutine`` run on the loop; after ``timeout`` seconds it is cancelled
        and :class:`~cogym.errors.CogmentError` names ``what`` did not answer."""
        if threading.current_thread() is self._thread:
            raise CogmentError(f"{what}: called from the Cogment loop itself, which would deadlock")
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise CogmentError(f"{what}: no answer within {timeout:g} s") from None

    def release(self) -> None:
        """Nothing to release: the loop is the process's, shared by its served participants."""


SETTLE_ROUNDS = 100
"""At most this many loop iterations run after a call's result, for what the participant's
session still had ready to do (an SDK session sends what follows an action a few iterations
later), so that it lands before the next call as it would on a loop that runs all along."""


class DrivenLoop:
    """An asyncio loop run only by :meth:`call`, in the calling thread (or, from a thread that
    already runs a loop, such as a notebook's, in a helper thread)."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop = asyncio.SelectorEventLoop()
        self._busy = threading.Lock()

    def call(self, coroutine: Coroutine[Any, Any, Any], timeout: float, what: str) -> Any:
        """The result of ``coroutine``, run on the loop; after ``timeout`` seconds it is
        cancelled and :class:`~cogym.errors.CogmentError` names ``what`` did not answer."""
        if not self._busy.acquire(blocking=False):
            coroutine.close()
            raise CogmentError(
                f"{what}: called while another call runs on this participant (from its own "
                "code, or from two threads at once)"
            )
        try:
            return _outside_a_running_loop(self._run, coroutine, timeout, what)
        finally:
            self._busy.release()

    def _run(self, coroutine: Coroutine[Any, Any, Any], timeout: float, what: str) -> Any:
        loop = self.loop
        task = loop.create_task(coroutine)
        timer = loop.call_later(timeout, task.cancel)
        try:
            result = loop.run_until_complete(task)
        except asyncio.CancelledError:
            raise CogmentError(f"{what}: no answer within {timeout:g} s") from None
        finally:
            timer.cancel()
        ready = loop._ready  # type: ignore[attr-defined]  # the selector loop's ready callbacks
        for _ in range(SETTLE_ROUNDS):
            if not ready:
                break
            loop.call_soon(loop.stop)
            loop.run_forever()
        return result

    def release(self) -> None:
        """Cancel what is left on the loop (sessions of a trial that never ended) and close it."""
        _outside_a_running_loop(self._release)

    def _release(self) -> None:
        loop = self.loop
        if loop.is_closed():
            return
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.close()


def _outside_a_running_loop(function: Callable[..., Any], *arguments: Any) -> Any:
    """``function(*arguments)`` in this thread, or in a helper thread where this one already
    runs an asyncio loop (a notebook's, or Playwright's sync API), which a loop cannot run in."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*arguments)
    with concurrent.futures.ThreadPoolExecutor(1, "cogym-cogment-call") as helper:
        return helper.submit(function, *arguments).result()


_loops: dict[int, BackgroundLoop] = {}
_lock = threading.Lock()


def background_loop() -> BackgroundLoop:
    """The process's loop for Cogment participants, started on first use (a forked child
    starts its own: the parent's thread does not run there)."""
    with _lock:
        pid = os.getpid()
        if pid not in _loops:
            _loops.clear()
            _loops[pid] = BackgroundLoop()
        return _loops[pid]
