"""JSON actions from the page, default key maps and no-op actions."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from cogym.errors import PageMessageError
from cogym.web.actions import bindings_from_config, decode_action, default_bindings, default_noop
from cogym.web.meanings import action_meanings

BOX = spaces.Box(-2.0, 2.0, (2,), np.float32)
DICT = spaces.Dict({"move": spaces.Discrete(3), "force": spaces.Box(0.0, 1.0, (1,), np.float32)})


@pytest.mark.parametrize(
    ("space", "value", "expected"),
    [
        (spaces.Discrete(3, start=1), 3, 3),
        (BOX, [0.5, -2], np.array([0.5, -2.0], np.float32)),
        (spaces.Box(-1, 1, (1,), np.float32), 0.25, np.array([0.25], np.float32)),
        (spaces.Box(0, 9, (2, 2), np.int64), [[1, 2], [3, 4]], np.array([[1, 2], [3, 4]])),
        (spaces.MultiDiscrete([3, 2]), [2, 1], np.array([2, 1])),
        (spaces.MultiBinary(3), [1, 0, 1], np.array([1, 0, 1], np.int8)),
        (spaces.Tuple([spaces.Discrete(2), spaces.Discrete(5)]), [1, 4], (1, 4)),
    ],
)
def test_actions_in_the_space_are_decoded(
    space: spaces.Space, value: object, expected: object
) -> None:
    action = decode_action(space, value)
    assert space.contains(action)
    np.testing.assert_array_equal(np.asarray(action), np.asarray(expected))


def test_a_dict_action_is_decoded_key_by_key() -> None:
    action = decode_action(DICT, {"move": 2, "force": [0.5]})
    assert DICT.contains(action)
    assert action["move"] == 2


@pytest.mark.parametrize(
    ("space", "value", "says"),
    [
        (spaces.Discrete(2), 1.0, "must be an integer"),
        (spaces.Discrete(2), True, "must be an integer"),
        (spaces.Discrete(2), "1", "got '1' (a string)"),
        (spaces.Discrete(2), 2, "not in the action space Discrete(2)"),
        (spaces.Discrete(3, start=1), 0, "not in the action space"),
        (BOX, [0.5], "must hold 2 numbers"),
        (BOX, [0.5, 3.0], "not in the action space"),
        (BOX, [0.5, "x"], "list of numbers"),
        (BOX, [0.5, float("inf")], "list of numbers"),
        (spaces.Box(0, 9, (1,), np.int64), [1.5], "must hold integers"),
        (spaces.MultiDiscrete([3, 2]), [1, 2], "not in the action space"),
        (DICT, {"move": 1}, "exactly the keys"),
        (DICT, [1, [0.5]], "must be an object"),
        (spaces.Text(5), "hello", "cannot send actions of a Text space"),
    ],
)
def test_malformed_actions_are_refused_saying_why(
    space: spaces.Space, value: object, says: str
) -> None:
    with pytest.raises(PageMessageError, match=None) as caught:
        decode_action(space, value)
    assert says in str(caught.value)


def test_two_actions_get_the_arrows_and_digits() -> None:
    keys = {b.key: b.action for b in default_bindings(spaces.Discrete(2))}
    assert keys == {"ArrowLeft": 0, "ArrowRight": 1, "1": 0, "2": 1}


def test_three_actions_get_left_down_right_and_digits_count_from_start() -> None:
    keys = {b.key: b.action for b in default_bindings(spaces.Discrete(3, start=-1))}
    assert keys == {"ArrowLeft": -1, "ArrowDown": 0, "ArrowRight": 1, "1": -1, "2": 0, "3": 1}


def test_large_discrete_spaces_get_digits_for_the_first_ten() -> None:
    keys = {b.key: b.action for b in default_bindings(spaces.Discrete(12))}
    assert keys == {str((i + 1) % 10): i for i in range(10)}


def test_a_small_box_gets_arrows_to_its_bounds() -> None:
    pendulum = spaces.Box(-2.0, 2.0, (1,), np.float32)
    assert {b.key: b.action for b in default_bindings(pendulum)} == {
        "ArrowLeft": [-2.0],
        "ArrowRight": [2.0],
    }
    keys = {
        b.key: b.action
        for b in default_bindings(spaces.Box(np.array([0, -1]), np.array([1, 1]), dtype=np.float32))
    }
    assert keys == {
        "ArrowLeft": [0.0, 0.0],
        "ArrowRight": [1.0, 0.0],
        "ArrowDown": [0.0, -1.0],
        "ArrowUp": [0.0, 1.0],
    }


@pytest.mark.parametrize(
    "space",
    [spaces.Box(-1, 1, (3,)), spaces.Box(-np.inf, np.inf, (1,)), DICT, spaces.MultiBinary(4)],
)
def test_other_spaces_have_no_default_keys(space: spaces.Space) -> None:
    assert default_bindings(space) == []


def test_configured_keys_are_checked_against_the_space() -> None:
    bindings = bindings_from_config(
        spaces.Discrete(2), {"a": 0, "d": {"action": 1, "label": "push right"}}
    )
    assert [(b.key, b.action, b.label) for b in bindings] == [("a", 0, "0"), ("d", 1, "push right")]
    with pytest.raises(PageMessageError, match=r"config.keys\['d'\] 2 is not in the action space"):
        bindings_from_config(spaces.Discrete(2), {"a": 0, "d": 2})
    with pytest.raises(PageMessageError, match="optional 'label'"):
        bindings_from_config(spaces.Discrete(2), {"a": {"act": 0}})


def test_noop_defaults() -> None:
    assert default_noop(spaces.Discrete(3, start=2)) == 2
    assert default_noop(spaces.Box(1.0, 2.0, (2,))) == [1.0, 1.0]
    assert default_noop(spaces.Box(-1.0, 1.0, (1,))) == [0.0]
    assert default_noop(spaces.MultiDiscrete([2, 3])) == [0, 0]
    assert default_noop(DICT) is None


@pytest.mark.parametrize(
    ("implementation", "meanings"),
    [
        ("gym:CartPole-v1", ["push left", "push right"]),
        ("MountainCar-v0", ["push left", "no push", "push right"]),
        ("gym:Acrobot-v1", ["torque −1", "no torque", "torque +1"]),
        ("gym:ale_py:ALE/Pong-v5", ["noop", "fire", "right", "left", "rightfire", "leftfire"]),
        ("gym:cogym/Probe-v0", None),
        ("pettingzoo:pettingzoo.classic.rps_v2:env", None),
    ],
)
def test_actions_are_named_where_the_environment_says(implementation, meanings) -> None:
    assert action_meanings(implementation) == meanings


def test_labels_name_the_buttons_of_every_key_of_an_action() -> None:
    labels = ["push left", "push right"]
    bindings = default_bindings(spaces.Discrete(2), labels)
    assert [(b.key, b.label) for b in bindings] == [
        ("ArrowLeft", "push left"),
        ("ArrowRight", "push right"),
        ("1", "push left"),
        ("2", "push right"),
    ]
    shifted = default_bindings(spaces.Discrete(2, start=1), labels)
    assert [b.label for b in shifted if b.action == 2] == ["push right", "push right"]
    custom = bindings_from_config(
        spaces.Discrete(2), {"a": 0, "d": {"action": 1, "label": "go"}}, labels
    )
    assert [(b.key, b.label) for b in custom] == [("a", "push left"), ("d", "go")]


@pytest.mark.parametrize(
    ("space", "action", "says"),
    [
        (spaces.MultiBinary(2), [0.6, 1], "must hold integers"),
        (spaces.Box(0, 255, (2,), np.uint8), [256, 1], "its dtype uint8 holds 0..255"),
        (spaces.MultiDiscrete([3, 3], dtype=np.int8), [258, 1], "its dtype int8 holds -128..127"),
    ],
)
def test_a_configured_key_whose_action_the_dtype_would_round_or_wrap_is_refused(
    space: spaces.Space, action: list[float], says: str
) -> None:
    # cast as they were, [0.6, 1] sent [0, 1], 256 sent 0 and 258 sent 2: actions in the space
    # that the key did not say
    with pytest.raises(PageMessageError, match=r"config.keys\['a'\]") as caught:
        bindings_from_config(space, {"a": action})
    assert says in str(caught.value)
