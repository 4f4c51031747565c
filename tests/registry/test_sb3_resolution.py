"""``sb3:`` actors in trials: files, registry references, pinning between trials, spaces."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from cogym import Orchestrator, TrialSpec, TrialState
from cogym.datalog import MemoryDatalog
from cogym.errors import InputError, SpaceMismatchError
from cogym.registry import ModelRegistry
from tests.conftest import CARTPOLE, PROBE, make_spec

from .conftest import tiny_ppo


def sb3_spec(implementation: str, environment: str = CARTPOLE, **config: Any) -> Any:
    return make_spec(
        environment,
        [{"name": "player", "implementation": implementation, "config": config}],
        seed=0,
        max_ticks=20,
    )


@pytest.fixture
def published(registry_dir: Path, cartpole_model: Any) -> ModelRegistry:
    registry = ModelRegistry(registry_dir)
    registry.save("cartpole-ppo", cartpole_model)
    return registry


def test_a_model_file_still_works(tmp_path: Path, cartpole_model: Any) -> None:
    path = tmp_path / "cartpole.zip"
    cartpole_model.save(path)
    with Orchestrator() as orchestrator:
        result = orchestrator.run(sb3_spec(f"sb3:{path}"))
    assert result.state is TrialState.ENDED and result.ticks == 20
    assert result.implementations["player"] == f"sb3:{path}"


def test_a_model_file_whose_path_has_spaces_and_an_at_sign_acts_from_a_yaml_spec(
    tmp_path: Path, cartpole_model: Any
) -> None:
    path = tmp_path / "my models" / "cart pole@1.zip"
    path.parent.mkdir()
    cartpole_model.save(path)
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(
        "environment: {implementation: gym:CartPole-v1}\n"
        f"actors: [{{name: player, implementation: 'sb3:{path}'}}]\n"
        "max_ticks: 20\nseed: 0\n"
    )
    with Orchestrator() as orchestrator:
        result = orchestrator.run(TrialSpec.from_yaml(spec_file))
    assert result.state is TrialState.ENDED and result.ticks == 20
    assert result.implementations["player"] == f"sb3:{path}"


def test_latest_switches_to_a_new_version_at_the_next_trial(
    published: ModelRegistry, cartpole_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = []
    real_load = ModelRegistry.load_version
    monkeypatch.setattr(
        ModelRegistry,
        "load_version",
        lambda self, info, **kw: loads.append(info.ref) or real_load(self, info, **kw),
    )
    spec = sb3_spec("sb3:cartpole-ppo@latest")
    used = []
    with Orchestrator(registry=published.root) as orchestrator:
        for index, result in enumerate(orchestrator.iter_run(spec, trials=6)):
            assert result.state is TrialState.ENDED, result.error
            used.append(result.implementations["player"])
            if index == 2:  # a trainer publishes while the run goes on
                published.save("cartpole-ppo", tiny_ppo(seed=1))
    assert used == ["sb3:cartpole-ppo@1"] * 3 + ["sb3:cartpole-ppo@2"] * 3
    assert loads == ["cartpole-ppo@1", "cartpole-ppo@2"]  # each version loaded once, then reused


def test_a_bare_name_means_latest_and_a_number_stays_put(
    published: ModelRegistry, cartpole_model: Any
) -> None:
    with Orchestrator(registry=published) as orchestrator:
        published.save("cartpole-ppo", cartpole_model)
        assert (
            orchestrator.run(sb3_spec("sb3:cartpole-ppo")).implementations["player"]
            == "sb3:cartpole-ppo@2"
        )
        published.save("cartpole-ppo", cartpole_model)
        assert (
            orchestrator.run(sb3_spec("sb3:cartpole-ppo@1")).implementations["player"]
            == "sb3:cartpole-ppo@1"
        )


def test_an_alias_is_followed_when_it_moves(published: ModelRegistry, cartpole_model: Any) -> None:
    published.save("cartpole-ppo", cartpole_model)
    published.alias("cartpole-ppo", "champion", 1)
    spec = sb3_spec("sb3:cartpole-ppo@champion")
    with Orchestrator(registry=published) as orchestrator:
        first = orchestrator.run(spec)
        published.alias("cartpole-ppo", "champion", 2)
        second = orchestrator.run(spec)
    assert first.implementations["player"] == "sb3:cartpole-ppo@1"
    assert second.implementations["player"] == "sb3:cartpole-ppo@2"


def test_the_datalog_records_the_version_each_trial_used(published: ModelRegistry) -> None:
    log = MemoryDatalog()
    with Orchestrator(registry=published, datastore=log) as orchestrator:
        orchestrator.run(sb3_spec("sb3:cartpole-ppo@latest"))
    assert log.trials[0].info.implementations["player"] == "sb3:cartpole-ppo@1"
    assert log.trials[0].info.spec.actors[0].implementation == "sb3:cartpole-ppo@latest"


def test_worker_processes_get_the_registry_and_pin_versions(published: ModelRegistry) -> None:
    with Orchestrator(registry=str(published.root)) as orchestrator:
        results = orchestrator.run_many(sb3_spec("sb3:cartpole-ppo@latest"), 4, workers=2)
    assert [r.state for r in results] == [TrialState.ENDED] * 4, [r.error for r in results]
    assert {r.implementations["player"] for r in results} == {"sb3:cartpole-ppo@1"}


def test_mismatched_spaces_fail_at_trial_start_naming_both(published: ModelRegistry) -> None:
    spec = sb3_spec("sb3:cartpole-ppo@latest", environment="gym:MountainCar-v0")
    with Orchestrator(registry=published) as orchestrator:
        result = orchestrator.run(spec)
        assert result.state is TrialState.FAILED and result.ticks == 0
        assert "SpaceMismatchError" in result.error
        assert "model cartpole-ppo@1 observes Box([-4.8" in result.error
        assert "actor class 'player' expects observations in Box([-1.2" in result.error
        with pytest.raises(SpaceMismatchError, match="actor class 'player'"):
            orchestrator.start(spec)


def test_a_registry_reference_without_a_registry_says_how_to_pass_one(
    published: ModelRegistry,
) -> None:
    with Orchestrator() as orchestrator:
        result = orchestrator.run(sb3_spec("sb3:cartpole-ppo@latest"))
    assert result.state is TrialState.FAILED
    assert "no" in result.error and "--registry DIR" in result.error
    assert "Orchestrator(registry=...)" in result.error


def test_a_missing_file_that_is_no_reference_either_is_explained(published: ModelRegistry) -> None:
    with Orchestrator(registry=published) as orchestrator:
        result = orchestrator.run(sb3_spec("sb3:models/missing.zip"))
    assert result.state is TrialState.FAILED
    assert "models/missing.zip" in result.error and "does not exist" in result.error


@pytest.mark.parametrize("rest", ["missing.zip", "models/missing", "./missing"])
@pytest.mark.parametrize("with_registry", [False, True])
def test_a_missing_file_is_named_as_a_file_with_or_without_a_registry(
    published: ModelRegistry, rest: str, with_registry: bool
) -> None:
    registry = published if with_registry else None
    with Orchestrator(registry=registry) as orchestrator:
        result = orchestrator.run(sb3_spec(f"sb3:{rest}"))
    assert result.state is TrialState.FAILED
    path = str((Path.cwd() / rest).absolute())
    assert f"the model file {path!r} does not exist" in result.error
    assert "names model" not in result.error and "none is configured" not in result.error


def test_unknown_models_and_config_keys_fail_the_trial_clearly(published: ModelRegistry) -> None:
    with Orchestrator(registry=published) as orchestrator:
        unknown = orchestrator.run(sb3_spec("sb3:cartpole-pp@latest"))
        bad_key = orchestrator.run(sb3_spec("sb3:cartpole-ppo", algorithm="PPO"))
        ok = orchestrator.run(sb3_spec("sb3:cartpole-ppo", deterministic=False, device="cpu"))
    assert "Did you mean 'cartpole-ppo'" in unknown.error
    assert "unknown config key(s) 'algorithm'; allowed: deterministic, device" in bad_key.error
    assert ok.state is TrialState.ENDED


def test_the_orchestrator_accepts_a_registry_path_or_object_only(registry_dir: Path) -> None:
    with Orchestrator(registry=registry_dir) as orchestrator:
        assert isinstance(orchestrator.registry, ModelRegistry)
        assert orchestrator.registry.root == str(registry_dir)
    with pytest.raises(InputError, match="registry must be a ModelRegistry, a directory or a URL"):
        Orchestrator(registry=42)  # type: ignore[arg-type]


def test_a_cnn_model_trained_on_channels_last_images_acts_from_registry_and_file(
    registry_dir: Path, tmp_path: Path
) -> None:
    # SB3 trains a CnnPolicy on images transposed channels-first (VecTransposeImage), so the
    # saved model observes Box(0, 255, (3, 36, 36)) while the env gives (36, 36, 3) images
    import numpy as np
    from gymnasium import spaces
    from stable_baselines3 import PPO

    from cogym.spaces import space_to_dict
    from cogym.wrappers import TrialGymEnv

    image = space_to_dict(spaces.Box(0, 255, (36, 36, 3), np.uint8))
    environment = {"implementation": PROBE, "config": {"observation_space": image,
                                                       "episode_length": 5}}  # fmt: skip
    agent = TrialGymEnv({"environment": environment,
                         "actors": [{"name": "player", "implementation": "external"}]})  # fmt: skip
    model = PPO("CnnPolicy", agent, n_steps=8, batch_size=8, seed=0, device="cpu")
    agent.close()
    assert model.observation_space.shape == (3, 36, 36)
    ModelRegistry(registry_dir).save("pixels", model)
    model.save(tmp_path / "pixels.zip")
    for implementation in ("sb3:pixels@latest", f"sb3:{tmp_path / 'pixels.zip'}"):
        spec = {"environment": environment, "seed": 0,
                "actors": [{"name": "player", "implementation": implementation}]}  # fmt: skip
        datalog = MemoryDatalog()
        with Orchestrator(registry=registry_dir, datastore=datalog) as orchestrator:
            result = orchestrator.run(TrialSpec.from_dict(spec))
        assert result.state is TrialState.ENDED and result.ticks == 5, result.error
        for tick in datalog.trials[0].samples:
            expected, _ = model.predict(tick.observations["player"], deterministic=True)
            assert tick.actions["player"] == expected


@pytest.mark.parametrize("ref", ["1..3", "2..", "..5"])
def test_an_actor_given_a_range_of_versions_is_refused_saying_ranges_are_for_compare(
    published: ModelRegistry, ref: str
) -> None:
    # it was read as an alias: "model 'cartpole-ppo' has no alias '1..3'"
    from cogym.errors import SpecError

    with (
        Orchestrator(registry=published) as orchestrator,
        pytest.raises(SpecError, match="names a range of versions") as caught,
    ):
        orchestrator.validate(sb3_spec(f"sb3:cartpole-ppo@{ref}"))
    assert "cogym compare" in str(caught.value) and "has no alias" not in str(caught.value)
    if not ref.startswith("."):  # a name may not start with '.' anyway
        with pytest.raises(InputError, match="would read as a range of versions"):
            published.alias("cartpole-ppo", ref, 1)


def _saved_elsewhere(model: Any, pickled: bytes) -> bytes:
    """``model``'s file as another installation wrote it: its observation space pickled as
    ``pickled``, and its system_info.txt naming newer versions."""
    import base64
    import io
    import json
    import zipfile

    plain = io.BytesIO()
    model.save(plain)
    changed = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(changed, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "data":
                data = json.loads(content)
                data["observation_space"][":serialized:"] = base64.b64encode(pickled).decode()
                content = json.dumps(data).encode()
            if item.filename == "system_info.txt":
                content = b"- Python: 3.14.0\n- Stable-Baselines3: 9.1.0\n- Gymnasium: 2.0.0\n"
            target.writestr(item, content)
    return changed.getvalue()


NEWER_PICKLES = {
    "newer-python": (b"\x80\x06K\x01.", "unsupported pickle protocol: 6"),
    "newer-gymnasium": (b"cgymnasium.spaces_v2\nBox\n.", "No module named 'gymnasium.spaces_v2'"),
    "renamed-class": (b"cgymnasium.spaces\nBoxV2\n.", "were not given"),
}


@pytest.mark.parametrize("case", NEWER_PICKLES)
@pytest.mark.parametrize("where", ["file", "registry"])
def test_a_model_saved_by_newer_libraries_is_refused_naming_both_versions(
    case: str, where: str, registry_dir: Path, tmp_path: Path, cartpole_model: Any
) -> None:
    pickled, detail = NEWER_PICKLES[case]
    data = _saved_elsewhere(cartpole_model, pickled)
    if where == "file":
        path = tmp_path / f"{case}.zip"
        path.write_bytes(data)
        implementation, registry, named = f"sb3:{path}", None, str(path)
    else:
        registry = ModelRegistry(registry_dir)
        registry.save_file(
            "newer", data, kind="sb3", algorithm="PPO",
            observation_space=cartpole_model.observation_space,
            action_space=cartpole_model.action_space,
        )  # fmt: skip
        implementation, named = "sb3:newer@1", "newer@1"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Could not deserialize object", UserWarning)
        with Orchestrator(registry=registry) as orchestrator:
            result = orchestrator.run(sb3_spec(implementation))
    assert result.state is TrialState.FAILED
    assert f"the SB3 model {named} cannot be loaded here" in result.error
    assert detail in result.error
    assert "saved with Python 3.14.0, Stable-Baselines3 9.1.0, Gymnasium 2.0.0" in result.error
    assert "were replaced together" not in result.error
