"""The Cogment SDK, imported on first use, and the asyncio loop that runs beside the tick loop.

cogym's tick loop is synchronous; Cogment's SDK and gRPC streams are asyncio. Every Cogment
participant of a process shares one event loop running in a daemon thread
(:func:`background_loop`); the tick loop hands it one coroutine per call (an environment's step,
an actor's act) and waits for the result with a deadline (:meth:`BackgroundLoop.call`), so a
participant that never answers fails its trial instead of blocking it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any

from cogym.errors import CogmentError, MissingExtraError

__all__ = ["BackgroundLoop", "background_loop", "require_sdk"]

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

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> concurrent.futures.Future:
        """Run ``coroutine`` on the loop without waiting for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)


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
