"""The orchestrator side of the RunTrial streams, against scripted participants, and the
command line with Cogment participants."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket

from click.testing import CliRunner

from tests.cogment.conftest import require_cogment

require_cogment()

from cogment.api import common_pb2  # noqa: E402

from cogym.cli import main  # noqa: E402
from cogym.cogment.protocol import ActorLink  # noqa: E402
from cogym.cogment.services import EOF, Stream  # noqa: E402

STATES = common_pb2.CommunicationState


class ScriptedActor(Stream):
    """A service actor that answers cogym's heartbeat, sends one of its own, then acts."""

    where = "scripted actor"

    def __init__(self) -> None:
        self.received: list[common_pb2.ActorRunTrialInput] = []
        self.outgoing: asyncio.Queue = asyncio.Queue()

    async def write(self, message) -> None:
        self.received.append(message)
        out = self.outgoing.put_nowait
        if message.state == STATES.HEARTBEAT and len(self.received) == 1:
            out(common_pb2.ActorRunTrialOutput(state=STATES.HEARTBEAT))  # the answer
        elif message.HasField("init_input"):
            out(common_pb2.ActorRunTrialOutput(state=STATES.HEARTBEAT))  # its own heartbeat
            output = common_pb2.ActorRunTrialOutput(state=STATES.NORMAL)
            output.init_output.SetInParent()
            out(output)
        elif message.HasField("observation"):
            action = common_pb2.Action(tick_id=message.observation.tick_id, content=b"x")
            out(common_pb2.ActorRunTrialOutput(state=STATES.NORMAL, action=action))

    async def read(self):
        return await self.outgoing.get()

    async def close(self) -> None:
        self.outgoing.put_nowait(EOF)


def test_heartbeats_are_answered_in_kind_and_answers_are_not_echoed():
    async def play():
        stream = ScriptedActor()
        link = ActorLink(stream)
        await link.start(common_pb2.ActorInitialInput(actor_name="a", actor_class="player"))
        _, delivery = await link.act([], common_pb2.Observation(tick_id=0))
        await link.end()
        return stream.received, delivery

    # on a thread of its own: an event loop of an earlier test may still be marked running here
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        received, delivery = pool.submit(asyncio.run, play()).result(timeout=30)
    assert delivery.data.content == b"x"
    states = [m.state for m in received]
    # cogym's probe, the init, then one heartbeat: its answer to the actor's own (the actor's
    # answer to cogym's probe is not answered again)
    assert states.count(STATES.HEARTBEAT) == 2
    assert states[0] == STATES.HEARTBEAT and states[-1] == STATES.END


def test_cli_refuses_an_unreachable_cogment_endpoint_with_exit_2(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "environment:\n"
        f"  implementation: cogment:grpc://127.0.0.1:{port}/cartpole\n"
        "  config: {cog_settings: cogment_lab.generated.cog_settings, spaces_from: CartPole-v1}\n"
        "actors:\n  - {name: gym, implementation: random}\n"
    )
    result = CliRunner().invoke(main, ["run", str(spec), "-q"])
    assert result.exit_code == 2, result.output
    assert f"grpc://127.0.0.1:{port}/cartpole" in result.stderr
    assert "Traceback" not in result.output


def test_without_the_sdk_a_cogment_participant_says_both_install_steps(monkeypatch):
    import sys

    from cogym import Orchestrator, TrialSpec
    from cogym.trial import TrialState

    monkeypatch.setitem(sys.modules, "cogment", None)
    spec = TrialSpec.from_dict({
        "environment": {"implementation": "cogment:grpc://127.0.0.1:1/duel"},
        "actors": [{"name": "a"}],
    })
    with Orchestrator() as orchestrator:
        result = orchestrator.run(spec)
    assert result.state is TrialState.FAILED
    assert "[cogment]" in result.error
    assert "--no-deps --ignore-requires-python cogment==2.10.1" in result.error
