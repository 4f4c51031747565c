"""A registry from elsewhere: edited meta.json and alias files, symlinks, odd entries.

Nothing outside the registry's root is read or written, and every problem is one of cogym's
registry errors naming the file and the fix.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import pytest

from cogym.errors import (
    ModelNotFoundError,
    RegistryError,
    RegistryFormatError,
    RegistryPathError,
)
from cogym.registry import ModelRegistry


def _meta_path(root: Path, name: str = "cartpole-ppo", version: int = 1) -> Path:
    return root / name / str(version) / "meta.json"


def _edit_meta(root: Path, **changes: Any) -> Path:
    path = _meta_path(root)
    meta = json.loads(path.read_text())
    meta.update(changes)
    path.write_text(json.dumps(meta))
    return path


@pytest.fixture
def saved(tmp_path: Path, cartpole_model: Any) -> tuple[ModelRegistry, Path, Path]:
    """A registry with cartpole-ppo@1, and a complete model version outside its root."""
    root = tmp_path / "models"
    registry = ModelRegistry(root)
    registry.save("cartpole-ppo", cartpole_model)
    outside = tmp_path / "outside"
    ModelRegistry(outside).save("evil", cartpole_model)
    return registry, root, outside


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# -- meta.json naming another place -------------------------------------------------------------


@pytest.mark.parametrize("name", ["../outside/evil", "../../etc", "/etc/passwd", "other-model"])
def test_a_meta_json_whose_name_was_changed_is_refused(saved, name) -> None:
    registry, root, _ = saved
    path = _edit_meta(root, name=name)
    with pytest.raises(RegistryPathError) as caught:
        registry.load("cartpole-ppo")
    message = str(caught.value)
    assert str(path) in message and "cartpole-ppo" in message and "save the model again" in message


def test_a_meta_json_whose_version_was_changed_is_refused(saved) -> None:
    registry, root, _ = saved
    path = _edit_meta(root, version=7)
    with pytest.raises(RegistryPathError, match="version 7") as caught:
        registry.info("cartpole-ppo@1")
    assert str(path) in str(caught.value)


def test_a_meta_json_edited_in_memory_storage_is_refused(memory_root: str, cartpole_model) -> None:
    import fsspec

    registry = ModelRegistry(memory_root)
    registry.save("cartpole-ppo", cartpole_model)
    fs = fsspec.filesystem("memory")
    path = f"{memory_root[len('memory://') :]}/cartpole-ppo/1/meta.json"
    meta = json.loads(fs.cat_file(path))
    meta["name"] = "../elsewhere"
    fs.pipe_file(path, json.dumps(meta).encode())
    with pytest.raises(RegistryPathError, match=f"{memory_root}/cartpole-ppo/1/meta.json"):
        registry.load("cartpole-ppo")


def test_a_hand_made_model_version_cannot_point_outside(saved) -> None:
    import dataclasses

    registry, _, _ = saved
    info = dataclasses.replace(registry.info("cartpole-ppo"), name="../../etc")
    with pytest.raises(RegistryError, match="inside the registry's root"):
        registry.read_model(info)
    with pytest.raises(RegistryError, match="no version number"):
        registry.read_model(dataclasses.replace(info, name="cartpole-ppo", version=0))


# -- symlinks out of the root ---------------------------------------------------------------------


def test_a_model_directory_symlinked_out_of_the_root_is_refused(saved, cartpole_model) -> None:
    registry, root, outside = saved
    os.symlink(outside / "evil", root / "evil")
    before = _snapshot(outside)
    for attempt in (
        lambda: registry.load("evil"),
        lambda: registry.info("evil@1"),
        lambda: registry.versions("evil"),
        lambda: registry.save("evil", cartpole_model),
        lambda: registry.alias("evil", "champion", 1),
    ):
        with pytest.raises(RegistryPathError, match="outside the registry") as caught:
            attempt()
        assert str(root / "evil") in str(caught.value)
    assert _snapshot(outside) == before
    with pytest.warns(UserWarning, match="evil.*outside the registry"):
        assert registry.models() == ["cartpole-ppo"]


@pytest.mark.parametrize("entry", ["version", "model file", "meta.json"])
def test_version_directories_and_files_symlinked_out_of_the_root_are_refused(saved, entry) -> None:
    registry, root, outside = saved
    evil = outside / "evil" / "1"
    if entry == "version":
        os.symlink(evil, root / "cartpole-ppo" / "2")
        wanted = "cartpole-ppo@2"
    else:
        name = "model.zip" if entry == "model file" else "meta.json"
        (root / "cartpole-ppo" / "1" / name).unlink()
        os.symlink(evil / name, root / "cartpole-ppo" / "1" / name)
        wanted = "cartpole-ppo@1"
    with pytest.raises(RegistryPathError, match="outside the registry"):
        registry.load(wanted)


def test_symlinks_within_the_root_are_followed(saved) -> None:
    registry, root, _ = saved
    os.symlink(root / "cartpole-ppo", root / "cartpole-copy")
    _edit_meta(root)  # unchanged: the name still says cartpole-ppo
    with pytest.raises(RegistryPathError, match="cartpole-ppo"):
        registry.info("cartpole-copy")  # its meta.json names the other model
    assert registry.info("cartpole-ppo").version == 1


def test_a_registry_root_that_is_itself_a_symlink_works(saved, tmp_path) -> None:
    _, root, _ = saved
    os.symlink(root, tmp_path / "link")
    assert ModelRegistry(tmp_path / "link").info("cartpole-ppo").version == 1


# -- damaged files whose checksum matches ----------------------------------------------------------


def test_a_truncated_zip_with_a_matching_checksum_is_cogyms_error(saved) -> None:
    registry, root, _ = saved
    model = root / "cartpole-ppo" / "1" / "model.zip"
    data = model.read_bytes()[:2000]
    model.write_bytes(data)
    _edit_meta(root, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    with pytest.raises(RegistryFormatError) as caught:
        registry.load("cartpole-ppo")
    message = str(caught.value)
    assert str(model) in message and "Stable-Baselines3" in message and "save" in message


def test_a_truncated_policy_with_a_matching_checksum_is_cogyms_error(saved, cartpole_model):
    registry, root, _ = saved
    registry.save("cartpole-policy", cartpole_model.policy)
    model = root / "cartpole-policy" / "1" / "model.zip"
    data = model.read_bytes()[:-100]
    model.write_bytes(data)
    meta = json.loads(_meta_path(root, "cartpole-policy").read_text())
    meta.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    _meta_path(root, "cartpole-policy").write_text(json.dumps(meta))
    with pytest.raises(RegistryFormatError, match="not a whole zip file") as caught:
        registry.load("cartpole-policy")
    assert str(model) in str(caught.value)


def test_a_zip_without_the_sb3_parts_is_cogyms_error(saved) -> None:
    import io
    import zipfile

    registry, root, _ = saved
    model = root / "cartpole-ppo" / "1" / "model.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a model")
    model.write_bytes(buffer.getvalue())
    data = buffer.getvalue()
    _edit_meta(root, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    with pytest.raises(RegistryFormatError, match="'data'") as caught:
        registry.load("cartpole-ppo")
    assert str(model) in str(caught.value)


# -- odd entries ----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["../../outside/evil/1", -1, 0, True, 1.5, 10**30, "1"])
def test_an_alias_file_pointing_at_an_odd_version_is_refused(saved, version) -> None:
    registry, root, _ = saved
    registry.alias("cartpole-ppo", "champion", 1)
    entry = root / "cartpole-ppo" / "aliases" / "champion" / "1.json"
    raw = json.loads(entry.read_text())
    raw["version"] = version
    entry.write_text(json.dumps(raw))
    with pytest.raises(RegistryFormatError) as caught:
        registry.load("cartpole-ppo@champion")
    assert str(entry) in str(caught.value) and "version" in str(caught.value)


def test_version_entries_that_are_files_or_not_numbers_are_skipped(saved) -> None:
    registry, root, _ = saved
    (root / "cartpole-ppo" / "5").write_text("a file, not a version directory")
    (root / "cartpole-ppo" / ("9" * 200)).mkdir()
    (root / "cartpole-ppo" / "0").mkdir()
    (root / "cartpole-ppo" / "٣").mkdir()
    (root / "cartpole-ppo" / "1" / "meta.json").rename(root / "meta.json.bak")
    (root / "cartpole-ppo" / "1" / "meta.json").mkdir()
    with pytest.raises(ModelNotFoundError):
        registry.versions("cartpole-ppo")
    (root / "cartpole-ppo" / "1" / "meta.json").rmdir()
    (root / "meta.json.bak").rename(root / "cartpole-ppo" / "1" / "meta.json")
    assert registry.versions("cartpole-ppo") == [1]
    assert registry.resolve("cartpole-ppo@latest").version == 1
    with pytest.raises(ModelNotFoundError, match="no version 5"):
        registry.info("cartpole-ppo@5")


def test_a_model_file_that_is_a_directory_is_named(saved) -> None:
    registry, root, _ = saved
    model = root / "cartpole-ppo" / "1" / "model.zip"
    model.unlink()
    model.mkdir()
    with pytest.raises(RegistryError) as caught:
        registry.load("cartpole-ppo")
    assert str(model) in str(caught.value)


@pytest.mark.parametrize("content", ["huge", "deep", "big integer"])
def test_a_huge_or_deep_meta_json_is_refused(saved, content) -> None:
    registry, root, _ = saved
    path = _meta_path(root)
    if content == "huge":
        meta = json.loads(path.read_text())
        meta["properties"] = {"padding": "x" * (20 << 20)}
        path.write_text(json.dumps(meta))
    elif content == "deep":
        path.write_text(
            '{"format_version": 1, "properties": ' + "[" * 100_000 + "]" * 100_000 + "}"
        )
    else:
        path.write_text('{"format_version": 1, "size": ' + "9" * 5000 + "}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RegistryFormatError) as caught:
            registry.info("cartpole-ppo")
    assert str(path) in str(caught.value) and len(str(caught.value)) < 1000
