"""Saving, finding and loading versions; what is on disk; integrity checks."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gymnasium import spaces

import cogym
from cogym.errors import (
    ChecksumError,
    InputError,
    ModelNotFoundError,
    RegistryFormatError,
    SpaceMismatchError,
)
from cogym.registry import FORMAT_VERSION, ModelRegistry, ModelVersion
from cogym.registry.storage import FsspecStorage, LocalStorage
from cogym.wrappers import sb3_actor

from .conftest import tiny_ppo

OBSERVATIONS = np.random.default_rng(0).uniform(-0.2, 0.2, size=(16, 4)).astype(np.float32)


def predictions(model: Any) -> np.ndarray:
    actions, _ = model.predict(OBSERVATIONS, deterministic=True)
    return actions


def test_saved_model_loads_back_and_acts_the_same(
    registry: ModelRegistry, cartpole_model: Any
) -> None:
    saved = registry.save("cartpole-ppo", cartpole_model)
    loaded = registry.load("cartpole-ppo")
    assert type(loaded).__name__ == "PPO"
    assert saved.ref == "cartpole-ppo@1"
    np.testing.assert_array_equal(predictions(loaded), predictions(cartpole_model))


def test_versions_are_numbered_and_found_by_number_and_latest(
    registry: ModelRegistry, cartpole_model: Any
) -> None:
    other = tiny_ppo(seed=1)
    for model in (cartpole_model, other, cartpole_model):
        registry.save("cartpole-ppo", model)
    registry.save("other", other)
    assert registry.versions("cartpole-ppo") == [1, 2, 3]
    assert registry.models() == ["cartpole-ppo", "other"]
    assert registry.info("cartpole-ppo").version == 3
    assert registry.info("cartpole-ppo@latest").version == 3
    assert registry.info("cartpole-ppo", 2).version == 2
    assert str(registry.resolve("cartpole-ppo@latest")) == "cartpole-ppo@3"
    np.testing.assert_array_equal(predictions(registry.load("cartpole-ppo@2")), predictions(other))


def test_meta_json_records_what_the_issue_asks_for(registry_dir: Path, cartpole_model: Any) -> None:
    registry = ModelRegistry(registry_dir)
    info = registry.save(
        "cartpole-ppo",
        cartpole_model,
        metrics={"mean_return": np.float32(21.5), "episodes": np.int64(10)},
        properties={"env": "CartPole-v1", "layers": [64, 64]},
        lineage={"datastore": "trials/", "trial_ids": ["a1", "b2"]},
    )
    meta = json.loads((registry_dir / "cartpole-ppo" / "1" / "meta.json").read_text())
    model_file = registry_dir / "cartpole-ppo" / "1" / "model.zip"
    assert meta["format_version"] == 1  # an SB3 model is still written in version 1
    assert meta["version"] == 1 and meta["name"] == "cartpole-ppo"
    assert meta["size"] == model_file.stat().st_size
    import hashlib

    assert meta["sha256"] == hashlib.sha256(model_file.read_bytes()).hexdigest()
    assert meta["algorithm"] == "PPO"
    assert meta["observation_space"]["type"] == "Box" and meta["observation_space"]["shape"] == [4]
    assert meta["action_space"] == {"type": "Discrete", "n": 2, "start": 0, "dtype": "<i8"}
    assert set(meta["libraries"]) >= {"cogym", "stable_baselines3", "torch", "gymnasium", "python"}
    assert meta["libraries"]["cogym"] == cogym.__version__
    assert meta["metrics"] == {"mean_return": 21.5, "episodes": 10}
    assert meta["properties"] == {"env": "CartPole-v1", "layers": [64, 64]}
    assert meta["lineage"] == {"datastore": "trials/", "trial_ids": ["a1", "b2"]}
    assert meta["created"].endswith("+00:00")
    # SB3's own zip, untouched
    assert zipfile.ZipFile(model_file).read("data")
    assert info == registry.info("cartpole-ppo@1")
    assert info.observation_space == cartpole_model.observation_space
    assert "cartpole-ppo@1" in repr(info) and "PPO" in repr(info)


def test_the_registry_holds_json_and_sb3_files_only(
    registry_dir: Path, cartpole_model: Any
) -> None:
    registry = ModelRegistry(registry_dir)
    registry.save("cartpole-ppo", cartpole_model, metrics={"r": 1.0})
    registry.save("cartpole-ppo", cartpole_model)
    registry.alias("cartpole-ppo", "champion", 1)
    registry.alias("cartpole-ppo", "champion", 2)
    files = [p for p in registry_dir.rglob("*") if p.is_file()]
    assert {p.name for p in files} == {"model.zip", "meta.json", ".claim", "1.json", "2.json"}
    for path in files:
        if path.name != "model.zip":
            json.loads(path.read_text())  # every file cogym writes is JSON


def test_a_policy_can_be_saved_and_loaded(registry: ModelRegistry, cartpole_model: Any) -> None:
    info = registry.save("cartpole-policy", cartpole_model.policy)
    assert info.algorithm == "stable_baselines3.common.policies:ActorCriticPolicy"
    loaded = registry.load("cartpole-policy")
    np.testing.assert_array_equal(predictions(loaded), predictions(cartpole_model))


def test_only_models_with_save_and_spaces_are_accepted(registry: ModelRegistry) -> None:
    with pytest.raises(InputError, match="has no save"):
        registry.save("thing", object())


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("metrics", {"loss": float("nan")}, r"metrics\['loss'\] is nan"),
        ("properties", {"env": object()}, r"properties\['env'\] is a object"),
        ("lineage", {1: "x"}, "keys must be strings"),
        ("metrics", [1, 2], "must be a mapping"),
    ],
)
def test_non_json_metadata_is_refused_before_anything_is_written(
    registry_dir: Path, cartpole_model: Any, field: str, value: Any, message: str
) -> None:
    registry = ModelRegistry(registry_dir)
    with pytest.raises(InputError, match=message):
        registry.save("cartpole-ppo", cartpole_model, **{field: value})
    assert not registry_dir.exists()


def test_unknown_names_versions_suggest_close_ones(
    registry: ModelRegistry, cartpole_model: Any
) -> None:
    registry.save("cartpole-ppo", cartpole_model)
    registry.save("cartpole-ppo", cartpole_model)
    with pytest.raises(ModelNotFoundError, match="Did you mean 'cartpole-ppo'"):
        registry.load("cartpole-pp")
    with pytest.raises(ModelNotFoundError, match="has no version 7; it has versions 1-2"):
        registry.load("cartpole-ppo@7")
    with pytest.raises(ModelNotFoundError, match="Known models: cartpole-ppo"):
        registry.versions("mountaincar")


def test_an_empty_or_missing_registry_has_no_models(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "nothing-here")
    assert registry.models() == []
    with pytest.raises(ModelNotFoundError, match=r"Known models: \(none\)"):
        registry.load("cartpole-ppo")


def test_mismatched_spaces_fail_before_unpickling_naming_both(
    registry: ModelRegistry, cartpole_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.save("cartpole-ppo", cartpole_model)
    monkeypatch.setattr(sb3_actor, "load_sb3_model", _must_not_load)
    other = spaces.Box(-1.0, 1.0, (2,), np.float32)
    with pytest.raises(SpaceMismatchError) as caught:
        registry.load("cartpole-ppo", observation_space=other)
    assert str(cartpole_model.observation_space) in str(caught.value)
    assert str(other) in str(caught.value)
    with pytest.raises(SpaceMismatchError, match=r"acts in Discrete\(2\).*Discrete\(3\)"):
        registry.load("cartpole-ppo", action_space=spaces.Discrete(3))


def _must_not_load(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the model file was unpickled although its spaces did not match")


def test_matching_spaces_load(registry: ModelRegistry, cartpole_model: Any) -> None:
    registry.save("cartpole-ppo", cartpole_model)
    model = registry.load(
        "cartpole-ppo",
        observation_space=cartpole_model.observation_space,
        action_space=spaces.Discrete(2),
    )
    assert model.action_space == spaces.Discrete(2)


def _model_file(registry_dir: Path) -> Path:
    return registry_dir / "cartpole-ppo" / "1" / "model.zip"


def test_a_truncated_model_file_is_refused_naming_the_file(
    registry_dir: Path, cartpole_model: Any
) -> None:
    registry = ModelRegistry(registry_dir)
    registry.save("cartpole-ppo", cartpole_model)
    path = _model_file(registry_dir)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ChecksumError, match="truncated") as caught:
        registry.load("cartpole-ppo")
    assert str(path) in str(caught.value)
    assert not isinstance(caught.value, InputError)


def test_an_altered_model_file_is_refused_naming_the_file(
    registry_dir: Path, cartpole_model: Any
) -> None:
    registry = ModelRegistry(registry_dir)
    registry.save("cartpole-ppo", cartpole_model)
    path = _model_file(registry_dir)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="sha256") as caught:
        registry.load("cartpole-ppo")
    assert str(path) in str(caught.value)


def test_an_altered_model_in_memory_storage_is_refused(
    memory_root: str, cartpole_model: Any
) -> None:
    import fsspec

    registry = ModelRegistry(memory_root)
    registry.save("cartpole-ppo", cartpole_model)
    fs = fsspec.filesystem("memory")
    path = f"{memory_root[len('memory://') :]}/cartpole-ppo/1/model.zip"
    fs.pipe_file(path, b"PK" + fs.cat_file(path)[2:-1] + b"!")
    with pytest.raises(ChecksumError, match=f"model file {memory_root}/cartpole-ppo/1/model.zip"):
        registry.load("cartpole-ppo")


def test_a_newer_meta_format_is_refused_with_advice(
    registry_dir: Path, cartpole_model: Any
) -> None:
    registry = ModelRegistry(registry_dir)
    registry.save("cartpole-ppo", cartpole_model)
    meta_path = registry_dir / "cartpole-ppo" / "1" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["format_version"] = FORMAT_VERSION + 1
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(
        RegistryFormatError, match=f"format version {FORMAT_VERSION + 1}.*upgrade cogym"
    ):
        registry.load("cartpole-ppo")


def test_a_foreign_meta_json_is_refused(registry_dir: Path, cartpole_model: Any) -> None:
    registry = ModelRegistry(registry_dir)
    registry.save("cartpole-ppo", cartpole_model)
    meta_path = registry_dir / "cartpole-ppo" / "1" / "meta.json"
    meta_path.write_text('{"hello": 1}')
    with pytest.raises(RegistryFormatError, match="no integer 'format_version'"):
        registry.info("cartpole-ppo")
    meta_path.write_text("{not json")
    with pytest.raises(RegistryFormatError, match="not valid JSON"):
        registry.info("cartpole-ppo")


def test_a_meta_json_naming_a_class_that_is_no_model_is_refused(
    registry_dir: Path, cartpole_model: Any
) -> None:
    registry = ModelRegistry(registry_dir)
    registry.save("cartpole-ppo", cartpole_model)
    meta_path = registry_dir / "cartpole-ppo" / "1" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["algorithm"] = "collections:OrderedDict"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(RegistryFormatError, match="neither a Stable-Baselines3 algorithm nor"):
        registry.load("cartpole-ppo")


def test_delete_hides_a_version_and_never_reuses_its_number(
    registry: ModelRegistry, cartpole_model: Any
) -> None:
    for _ in range(3):
        registry.save("cartpole-ppo", cartpole_model)
    registry.delete("cartpole-ppo", 3)
    assert registry.versions("cartpole-ppo") == [1, 2]
    assert registry.info("cartpole-ppo").version == 2
    with pytest.raises(ModelNotFoundError, match="no version 3"):
        registry.load("cartpole-ppo@3")
    assert registry.save("cartpole-ppo", cartpole_model).version == 4
    with pytest.raises(ModelNotFoundError, match="no version 3"):
        registry.delete("cartpole-ppo", 3)


def test_prune_keeps_the_last_versions_and_the_aliased_ones(
    registry: ModelRegistry, cartpole_model: Any
) -> None:
    for _ in range(6):
        registry.save("cartpole-ppo", cartpole_model)
    registry.alias("cartpole-ppo", "champion", 2)
    deleted = registry.prune("cartpole-ppo", keep_last=2)
    assert deleted == [1, 3, 4]
    assert registry.versions("cartpole-ppo") == [2, 5, 6]
    assert registry.load("cartpole-ppo@champion") is not None


def test_keep_last_prunes_after_every_save(registry_dir: Path, cartpole_model: Any) -> None:
    registry = ModelRegistry(registry_dir, keep_last=2)
    for _ in range(4):
        registry.save("cartpole-ppo", cartpole_model)
    assert registry.versions("cartpole-ppo") == [3, 4]
    with pytest.raises(InputError, match="keep_last"):
        ModelRegistry(registry_dir, keep_last=0)


def test_the_registry_pickles_to_the_same_root(registry_dir: Path) -> None:
    registry = ModelRegistry(registry_dir, keep_last=3)
    copy = pickle.loads(pickle.dumps(registry))
    assert copy.root == registry.root and copy.keep_last == 3
    assert repr(copy) == f"ModelRegistry({str(registry_dir)!r}, keep_last=3)"


def test_file_urls_are_local_directories(tmp_path: Path, cartpole_model: Any) -> None:
    registry = ModelRegistry(f"file://{tmp_path}/models")
    registry.save("cartpole-ppo", cartpole_model)
    assert (tmp_path / "models" / "cartpole-ppo" / "1" / "meta.json").is_file()


def test_a_file_url_with_spaces_percent_encoded_is_the_same_directory_as_the_datastores(
    tmp_path: Path, cartpole_model: Any
) -> None:
    from cogym.datastore.location import local_directory

    folder = tmp_path / "my models"
    url = folder.as_uri().replace("file://", "FILE://")
    assert "%20" in url and local_directory(url) == folder
    ModelRegistry(url).save("cartpole-ppo", cartpole_model)
    assert (folder / "cartpole-ppo" / "1" / "meta.json").is_file()
    assert ModelRegistry(str(folder)).resolve("cartpole-ppo").version == 1
    assert not (tmp_path / "my%20models").exists()


def test_latest_among_many_versions_reads_no_file(
    registry: ModelRegistry, cartpole_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(30):
        registry.save("cartpole-ppo", cartpole_model)
    # count the reads, existence checks and listings of the registry's files, by any storage
    calls: dict[str, int] = {"read": 0, "exists": 0, "list": 0}
    for kind in (LocalStorage, FsspecStorage):
        for method in calls:
            monkeypatch.setattr(kind, method, _counting(getattr(kind, method), calls, method))
    assert str(registry.resolve("cartpole-ppo@latest")) == "cartpole-ppo@30"
    assert calls == {"read": 0, "exists": 1, "list": 1}
    info = registry.info("cartpole-ppo")
    assert info.version == 30 and calls["read"] == 1


def _counting(method: Any, calls: dict[str, int], name: str) -> Any:
    def counted(storage: Any, *args: Any, **options: Any) -> Any:
        calls[name] += 1
        return method(storage, *args, **options)

    return counted


def test_model_version_round_trips_through_its_json(
    registry: ModelRegistry, cartpole_model: Any
) -> None:
    info = registry.save("cartpole-ppo", cartpole_model, metrics={"r": 1.5})
    again = ModelVersion.from_json(info.to_json(), where="test", file=info.file)
    assert again == info
