"""``rllib:`` actors from a single RLModule's checkpoint: Box actions scaled to the space as
RLlib scales them, seats whose spaces do not fit refused, config keys checked."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from cogym import Orchestrator
from cogym.errors import SpecError
from tests.conftest import CARTPOLE, make_spec

pytest.importorskip("ray.rllib")

import torch  # noqa: E402
from ray.rllib.algorithms.ppo.ppo_catalog import PPOCatalog  # noqa: E402
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import (  # noqa: E402
    DefaultPPOTorchRLModule,
)
from ray.rllib.core.rl_module.rl_module import RLModuleSpec  # noqa: E402

PENDULUM = "gym:Pendulum-v1"


@pytest.fixture(scope="module")
def pendulum_module(tmp_path_factory) -> Path:
    """An (untrained) PPO RLModule for Pendulum, saved as RLlib saves one."""
    env = gym.make("Pendulum-v1")
    module = RLModuleSpec(
        module_class=DefaultPPOTorchRLModule,
        observation_space=env.observation_space,
        action_space=env.action_space,
        model_config={"fcnet_hiddens": [8]},
        catalog_class=PPOCatalog,
    ).build()
    path = tmp_path_factory.mktemp("rllib") / "pendulum"
    module.save_to_path(str(path.absolute()))
    return path


def test_box_actions_are_the_policy_mean_scaled_from_minus_one_one_to_the_bounds(
    pendulum_module,
):
    spec = make_spec(PENDULUM, [{"name": "p", "implementation": f"rllib:{pendulum_module}"}])
    spec = spec.model_copy(update={"max_ticks": 20, "seed": 0})
    with Orchestrator(keep_samples=True) as orchestrator:
        trial = orchestrator.start(spec)
        trial.run()
    assert trial.state.value == "ended" and len(trial.samples) == 20
    space = gym.make("Pendulum-v1").action_space
    assert all(space.contains(sample.actions["p"]) for sample in trial.samples)
    # the same module, asked directly: the mean of its Gaussian, squashed into [-2, 2]
    from ray.rllib.core.rl_module.rl_module import RLModule

    module = RLModule.from_checkpoint(str(pendulum_module.absolute()))
    first = trial.samples[0]
    with torch.no_grad():
        out = module.forward_inference({"obs": torch.as_tensor(first.observations["p"][None])})
    mean = np.clip(out["action_dist_inputs"][0, :1].numpy(), -1.0, 1.0)
    assert np.allclose(first.actions["p"], -2.0 + (mean + 1.0) * 2.0, atol=1e-5)


def test_a_policy_for_other_spaces_is_refused_naming_the_seat(pendulum_module):
    spec = make_spec(CARTPOLE, [{"name": "pole", "implementation": f"rllib:{pendulum_module}"}])
    with Orchestrator() as orchestrator, pytest.raises(SpecError) as caught:
        orchestrator.validate(spec)
    message = str(caught.value)
    assert "actors[0].implementation" in message and "observes Box(" in message
    assert "(3,)" in message and "(4,)" in message  # Pendulum's 3 numbers, CartPole's 4


def test_an_unknown_config_key_is_refused_with_the_allowed_ones(pendulum_module):
    actor = {"name": "p", "implementation": f"rllib:{pendulum_module}", "config": {"greedy": 1}}
    with Orchestrator() as orchestrator, pytest.raises(SpecError, match="'greedy'.*allowed"):
        orchestrator.validate(make_spec(PENDULUM, [actor]))


def test_a_single_module_checkpoint_has_no_policies_to_name(pendulum_module):
    actor = {"name": "p", "implementation": f"rllib:{pendulum_module}#shared"}
    with Orchestrator() as orchestrator, pytest.raises(SpecError, match="leave out '#<policy>'"):
        orchestrator.validate(make_spec(PENDULUM, [actor]))
