"""Where a Cogment participant runs, and the ``RunTrial`` stream cogym opens to it per trial.

- :class:`GrpcService`: an implementation served with the SDK's
  ``context.serve_all_registered``, dialled at ``grpc://HOST:PORT``; each trial is one real
  ``EnvironmentSP.RunTrial`` / ``ServiceActorSP.RunTrial`` bidirectional stream.
- :class:`InProcessService`: an ``async def impl(session)`` run by the SDK's own servicer
  (``EnvironmentServicer`` / ``AgentServicer``, the code ``serve_all_registered`` serves), fed
  through in-process queues instead of a gRPC stream: no server, no port, the same session code.

Both give a :class:`Stream` (``write``, ``read``, ``close``) that :mod:`cogym.cogment.protocol`
drives; everything here runs on the participant's asyncio loop (:mod:`cogym.cogment.runtime`).
"""

from __future__ import annotations

import abc
import asyncio
from types import SimpleNamespace
from typing import Any

from cogym.errors import CogmentError, CogmentUnreachableError

__all__ = ["EOF", "GrpcService", "InProcessService", "Stream"]

EOF = None
"""What :meth:`Stream.read` returns once the participant closed its side."""

DIAL_TIMEOUT = 5.0
"""Seconds within which a served endpoint must accept a connection."""
CLOSE_TIMEOUT = 5.0
"""Seconds a participant has to return once its stream got ``END``."""


class Stream(abc.ABC):
    """One trial's ``RunTrial`` stream with one participant (orchestrator side)."""

    where: str

    @abc.abstractmethod
    async def write(self, message: Any) -> None: ...

    @abc.abstractmethod
    async def read(self) -> Any: ...

    @abc.abstractmethod
    async def close(self) -> None: ...


# -- served over gRPC ---------------------------------------------------------------------


class _GrpcStream(Stream):
    def __init__(self, call: Any, where: str) -> None:
        self._call = call
        self.where = where

    async def write(self, message: Any) -> None:
        import grpc

        try:
            await self._call.write(message)
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError) as exc:
            raise CogmentError(f"{self.where}: the stream failed ({_rpc_error(exc)})") from None

    async def read(self) -> Any:
        import grpc

        try:
            message = await self._call.read()
        except grpc.aio.AioRpcError as exc:
            raise CogmentError(f"{self.where}: the stream failed ({_rpc_error(exc)})") from None
        return EOF if message is grpc.aio.EOF else message

    async def close(self) -> None:
        import grpc

        try:
            await self._call.done_writing()
            # let the participant see END and return, as it would under Cogment's orchestrator
            await asyncio.wait_for(self._call.code(), CLOSE_TIMEOUT)
        except (TimeoutError, grpc.aio.AioRpcError, asyncio.InvalidStateError):
            self._call.cancel()  # gone already, or not returning: nothing is left to wait for


def _rpc_error(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    details = getattr(exc, "details", None)
    if callable(code) and callable(details):
        return f"{code().name}: {details()}"
    return repr(exc)


class GrpcService:
    """A Cogment implementation served at ``grpc://host:port``, named ``impl_name`` there."""

    def __init__(self, kind: str, host: str, port: int, impl_name: str) -> None:
        self.kind = kind
        self.host = host
        self.port = port
        self.impl_name = impl_name
        self.where = f"Cogment {kind} grpc://{host}:{port}/{impl_name}"
        self._channel: Any = None

    async def connect(self, timeout: float = DIAL_TIMEOUT) -> None:
        """Dial the endpoint; refused with :class:`CogmentUnreachableError` after ``timeout``."""
        import grpc

        if self._channel is not None:
            return
        channel = grpc.aio.insecure_channel(f"{self.host}:{self.port}")
        try:
            await asyncio.wait_for(channel.channel_ready(), timeout)
        except TimeoutError:
            await channel.close()
            raise CogmentUnreachableError(
                f"{self.where}: nothing answered at {self.host}:{self.port} within {timeout:g} s; "
                "start the service (the SDK's context.serve_all_registered) or fix the host and "
                "port in the implementation string"
            ) from None
        self._channel = channel

    async def open(self, trial_id: str, actor_name: str) -> Stream:
        from cogment.api import agent_pb2_grpc, environment_pb2_grpc

        await self.connect()
        metadata = (("trial-id", trial_id), ("actor-name", actor_name))
        if self.kind == "environment":
            stub: Any = environment_pb2_grpc.EnvironmentSPStub(self._channel)
        else:
            stub = agent_pb2_grpc.ServiceActorSPStub(self._channel)
        return _GrpcStream(stub.RunTrial(metadata=metadata), self.where)

    async def close(self) -> None:
        if self._channel is not None:
            channel, self._channel = self._channel, None
            await channel.close()


# -- in-process, through the SDK's own servicers ------------------------------------------


class _Finished:
    """Put on the outgoing queue when the servicer's ``RunTrial`` returns or raises."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class _ServicerContext:
    """What the SDK's servicers use of a ``grpc.aio.ServicerContext``, over two queues."""

    def __init__(self, trial_id: str, actor_name: str) -> None:
        self.incoming: asyncio.Queue[Any] = asyncio.Queue()
        self.outgoing: asyncio.Queue[Any] = asyncio.Queue()
        self._metadata = (("trial-id", trial_id), ("actor-name", actor_name))

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    async def read(self) -> Any:
        return await self.incoming.get()

    async def write(self, message: Any) -> None:
        self.outgoing.put_nowait(message)

    async def abort(self, code: Any, details: str) -> None:
        raise CogmentError(f"the session aborted the trial ({code}): {details}")


class _InProcessStream(Stream):
    def __init__(self, context: _ServicerContext, task: asyncio.Task, where: str) -> None:
        self._context = context
        self._task = task
        self.where = where
        self._finished = False

    async def write(self, message: Any) -> None:
        if self._finished:
            raise CogmentError(f"{self.where}: its session has ended; it takes no more data")
        self._context.incoming.put_nowait(message)

    async def read(self) -> Any:
        item = await self._context.outgoing.get()
        if isinstance(item, _Finished):
            self._finished = True
            self._context.outgoing.put_nowait(item)  # every later read sees the end too
            if item.error is not None:
                raise CogmentError(f"{self.where} raised {item.error!r}") from item.error
            return EOF
        return item

    async def close(self) -> None:
        import grpc

        self._context.incoming.put_nowait(grpc.aio.EOF)
        if not self._task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._task), CLOSE_TIMEOUT)
            except (TimeoutError, Exception):
                self._task.cancel()


class InProcessService:
    """An ``async def impl(session)`` run in this process by the SDK's own servicer."""

    def __init__(self, kind: str, impl: Any, impl_name: str, cog_settings: Any, where: str) -> None:
        self.kind = kind
        self.impl = impl
        self.impl_name = impl_name
        self.cog_settings = cog_settings
        self.where = f"Cogment {kind} {where}"

    async def connect(self, timeout: float = DIAL_TIMEOUT) -> None:
        """Nothing to dial in-process."""

    async def open(self, trial_id: str, actor_name: str) -> Stream:
        from cogment.agent_service import AgentServicer
        from cogment.env_service import EnvironmentServicer

        if self.kind == "environment":
            impls = {self.impl_name: SimpleNamespace(impl=self.impl, properties={})}
            servicer: Any = EnvironmentServicer(impls, self.cog_settings, None)
        else:
            classes = [c.name for c in self.cog_settings.actor_classes]
            entry = SimpleNamespace(impl=self.impl, actor_classes=classes, properties={})
            impls = {self.impl_name: entry}
            servicer = AgentServicer(impls, self.cog_settings, None)
        context = _ServicerContext(trial_id, actor_name)
        task = asyncio.get_running_loop().create_task(servicer.RunTrial(None, context))

        def finished(done: asyncio.Task) -> None:
            error = None if done.cancelled() else done.exception()
            context.outgoing.put_nowait(_Finished(error))

        task.add_done_callback(finished)
        return _InProcessStream(context, task, self.where)

    async def close(self) -> None:
        """Nothing is held between trials in-process."""
