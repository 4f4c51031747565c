"""Cogment apps in cogym trials: Cogment environments and actors, served or in-process.

cogym plays the trial-running half of Cogment's orchestrator: a spec names a Cogment
participant with the ``cogment:`` scheme, as the environment or as any actor::

    environment:
      implementation: cogment:grpc://127.0.0.1:9001/cartpole    # served with the SDK
      config: {cog_settings: cogment_lab.generated.cog_settings, spaces_from: CartPole-v1}
    actors:
      - name: gym
        implementation: cogment:myapp.actors:random_impl        # async def impl(session)
        config: {cog_settings: cogment_lab.generated.cog_settings}

Any mix works: a Cogment environment with cogym actors (``external`` for SB3 through
``TrialGymEnv``), a cogym environment with Cogment actors. Modules: :mod:`~cogym.cogment.schemes`
(the implementation strings and their config), :mod:`~cogym.cogment.participants` (the
participants), :mod:`~cogym.cogment.protocol` (the ``RunTrial`` streams),
:mod:`~cogym.cogment.services` (served or in-process), :mod:`~cogym.cogment.codecs` (protobuf to
Gymnasium values), :mod:`~cogym.cogment.runtime` (the SDK and the asyncio loops).

The SDK is the ``cogment`` extra plus a forced step (its metadata pins Python < 3.11)::

    pip install "cogym[cogment]"
    pip install --no-deps --ignore-requires-python cogment==2.10.1 cogment-lab==0.1.5
"""

from cogym.cogment.codecs import Codec, CogmentLabCodec

__all__ = ["Codec", "CogmentLabCodec"]
