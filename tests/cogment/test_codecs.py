"""Protobuf <-> Gymnasium values: cogment-lab's spaces.proto / ndarray.proto, and user codecs."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from tests.cogment.conftest import require_cogment

require_cogment()

from cogment_lab.generated import data_pb2, ndarray_pb2, spaces_pb2  # noqa: E402
from cogment_lab.specs.ndarray_serialization import deserialize_ndarray  # noqa: E402
from cogment_lab.specs.spaces_serialization import deserialize_space  # noqa: E402

from cogym import Orchestrator, TrialSpec  # noqa: E402
from cogym.cogment.codecs import (  # noqa: E402
    CogmentLabCodec,
    any_to_payload,
    array_from_message,
    array_to_message,
    payload_to_any,
    space_from_message,
    space_to_message,
)
from cogym.errors import CogmentDecodeError  # noqa: E402
from cogym.trial import TrialState  # noqa: E402
from tests.cogment.app import SETTINGS  # noqa: E402

SPACES = [
    spaces.Discrete(5, start=2),
    spaces.Box(-1.0, 2.0, (3, 2), np.float32),
    spaces.Box(0, 255, (4,), np.uint8),
    spaces.MultiDiscrete([3, 4]),
    spaces.MultiBinary(6),
    spaces.Dict({"pos": spaces.Box(-1, 1, (2,), np.float64), "id": spaces.Discrete(3)}),
]


@pytest.mark.parametrize("space", SPACES, ids=lambda s: type(s).__name__)
def test_spaces_round_trip_and_read_as_cogment_lab_reads_them(space):
    message = spaces_pb2.Space()
    space_to_message(space, message)
    assert space_from_message(message) == space
    if isinstance(space, spaces.MultiBinary):
        return  # cogment-lab 0.1.5 cannot read its own MultiBinary on Gymnasium 1.x (numpy n)
    theirs = deserialize_space(spaces_pb2.Space.FromString(message.SerializeToString()))
    assert type(theirs) is type(space)
    assert space_from_message(message).shape == theirs.shape


@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "int32", "int64", "uint8"])
def test_arrays_round_trip_and_read_as_cogment_lab_reads_them(dtype):
    array = np.arange(6, dtype=dtype).reshape(2, 3)
    message = ndarray_pb2.Array()
    array_to_message(array, message)
    np.testing.assert_array_equal(array_from_message(message, "value"), array)
    np.testing.assert_array_equal(deserialize_ndarray(message), array)


@pytest.mark.parametrize("space", SPACES, ids=lambda s: type(s).__name__)
def test_cogment_lab_codec_round_trips_observations_and_actions(space):
    codec = CogmentLabCodec({"*": (space, space)})
    value = space.sample()
    observation, action = data_pb2.Observation(), data_pb2.PlayerAction()
    codec.encode_observation("p", "player", value, observation)
    codec.encode_action("p", "player", value, action)
    for decoded in (
        codec.decode_observation("p", "player", observation),
        codec.decode_action("p", "player", action),
    ):
        assert space.contains(decoded)
        flat = spaces.flatten(space, decoded)
        np.testing.assert_array_equal(flat, spaces.flatten(space, value))


def test_a_value_outside_the_space_names_the_field():
    codec = CogmentLabCodec({"*": (spaces.Box(0, 1, (2,), np.float32), None)})
    observation = data_pb2.Observation()
    array_to_message(np.array([0.5, 7.0], dtype=np.float32), observation.value)
    with pytest.raises(CogmentDecodeError, match=r"Observation\.value.*not in the observation"):
        codec.decode_observation("p", "player", observation)


@pytest.mark.parametrize("payload", ["hi", 3.5, {"a": [1, "b"]}, None])
def test_json_payloads_travel_in_a_protobuf_any(payload):
    from google.protobuf import any_pb2

    packed = any_pb2.Any()
    payload_to_any(payload, packed)
    assert any_to_payload(packed) == payload


def test_a_foreign_payload_is_recorded_with_its_type_and_fields():
    from google.protobuf import any_pb2

    packed = any_pb2.Any()
    packed.Pack(data_pb2.Value(int_value=7))
    shown = any_to_payload(packed)
    assert shown["@type"].endswith("cogment_lab.Value") and shown["fields"] == {"intValue": 7}
    again = any_pb2.Any()
    payload_to_any(shown, again)
    assert again == packed


def test_a_user_codec_replaces_the_convention(served):
    def spec(config):
        return TrialSpec.from_dict({
            "environment": {"implementation": f"{served}/duel", "config": {
                "cog_settings": SETTINGS, "config": {"reset_args": {"end_at": {"intValue": 4}}},
                **config,
            }},
            "actors": [
                {"name": "a", "implementation": f"{served}/quiet",
                 "config": {"cog_settings": SETTINGS, **config}},
                {"name": "b", "implementation": f"{served}/quiet",
                 "config": {"cog_settings": SETTINGS, **config}},
            ],
            "seed": 0,
        })

    from tests.cogment.app import SPACES as DUEL_SPACES

    with Orchestrator() as orchestrator:
        mine = orchestrator.run(spec({"codec": "tests.cogment.app:DuelCodec"}))
        env_only = dict(DUEL_SPACES)
        conventional = orchestrator.run(spec(env_only).replace_actor(
            "a", config={"cog_settings": SETTINGS}
        ).replace_actor("b", config={"cog_settings": SETTINGS}))
    assert mine.state is TrialState.ENDED, mine.error
    assert mine.returns == conventional.returns
