"""Serving a Cogment app's implementations for cogym to dial: :func:`serve`.

The SDK's ``context.serve_all_registered(cogment.ServedEndpoint(port))`` serves on every
interface (``[::]``); :func:`serve` serves the same registrations with the SDK's own
servicers, on the host given (loopback by default), and says the port it got::

    import asyncio, cogment
    from cogment_lab.envs.gymnasium import GymEnvironment
    from cogment_lab.generated import cog_settings
    from cogym.cogment.serving import serve

    async def main():
        context = cogment.Context(cog_settings=cog_settings, user_id="me")
        context.register_environment(GymEnvironment("CartPole-v1").impl, "cartpole")
        await serve(context, port=9001, ready=lambda port: print("serving on", port))

    asyncio.run(main())

cogym then runs trials against ``cogment:grpc://127.0.0.1:9001/cartpole``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from cogym.cogment.runtime import require_sdk
from cogym.errors import ArgumentError

__all__ = ["serve"]


async def serve(
    context: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    ready: Callable[[int], None] | None = None,
    until: Callable[[], Awaitable[Any]] | None = None,
) -> None:
    """Serve the environments and actors registered on the SDK ``context`` at ``host:port``
    (``port`` 0: a free one) until ``until()`` returns (by default, until cancelled);
    ``ready(port)`` is called once it serves."""
    require_sdk()
    import grpc
    from cogment.agent_service import AgentServicer
    from cogment.api import agent_pb2_grpc, environment_pb2_grpc
    from cogment.env_service import EnvironmentServicer

    # what context.register_environment / register_actor recorded
    environments, actors = context._env_impls, context._actor_impls
    if not environments and not actors:
        raise ArgumentError(
            "serve(context): nothing is registered on the context; call "
            "context.register_environment(impl, name) or context.register_actor(...) first"
        )
    server = grpc.aio.server()
    settings = context._cog_settings
    if environments:
        servicer: Any = EnvironmentServicer(environments, settings, None)
        environment_pb2_grpc.add_EnvironmentSPServicer_to_server(servicer, server)
    if actors:
        servicer = AgentServicer(actors, settings, None)
        agent_pb2_grpc.add_ServiceActorSPServicer_to_server(servicer, server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if not bound:
        raise ArgumentError(f"serve(context): cannot listen on {host}:{port} (port in use?)")
    await server.start()
    try:
        if ready is not None:
            ready(bound)
        await (until() if until is not None else asyncio.Event().wait())
    finally:
        await server.stop(0)
