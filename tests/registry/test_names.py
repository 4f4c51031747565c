"""Names, aliases and references: nothing may escape the registry's root."""

from __future__ import annotations

from pathlib import Path

import pytest

from cogym.errors import InputError, ModelNameError
from cogym.registry import LATEST, ModelRef, ModelRegistry, parse_ref

ESCAPING = [
    ("", "empty"),
    ("..", "may not start with '.'"),
    (".", "may not start with '.'"),
    ("../outside", "is a path"),
    ("a/../../outside", "is a path"),
    ("/etc/passwd", "is an absolute path"),
    ("\\\\server\\share", "is an absolute path"),
    ("C:\\models", "is an absolute path"),
    ("a/b", "is a path"),
    ("a\\b", "is a path"),
    (".hidden", "may not start with '.'"),
    ("name with space", "contains ' '"),
    ("café", "contains 'é'"),
    ("x" * 101, "the limit is 100"),
    ("a:b", "contains ':'"),
    ("-rf", "model name '-rf' starts with '-'; use letters, digits"),
    ("_x", "model name '_x' starts with '_'; use letters, digits"),
]


@pytest.mark.parametrize(("name", "reason"), ESCAPING)
def test_save_refuses_names_that_could_escape_the_root(
    name: str, reason: str, registry_dir: Path, cartpole_model: object
) -> None:
    registry = ModelRegistry(registry_dir)
    with pytest.raises(ModelNameError, match="model name") as caught:
        registry.save(name, cartpole_model)
    assert reason in str(caught.value)
    assert isinstance(caught.value, InputError)
    # nothing was written anywhere, inside the root or next to it
    assert not registry_dir.exists()
    assert sorted(p.name for p in registry_dir.parent.iterdir()) == []


@pytest.mark.parametrize(("name", "reason"), ESCAPING[:6])
def test_every_lookup_refuses_bad_names(name: str, reason: str, registry_dir: Path) -> None:
    registry = ModelRegistry(registry_dir)
    for call in (
        lambda: registry.load(name),
        lambda: registry.info(name),
        lambda: registry.versions(name),
        lambda: registry.aliases(name),
        lambda: registry.alias(name, "champion", 1),
        lambda: registry.delete(name, 1),
        lambda: registry.prune(name, 1),
    ):
        with pytest.raises(ModelNameError, match=reason.replace("'", ".")):
            call()


@pytest.mark.parametrize("alias", ["../x", "/abs", "", ".x", "latest", "12", "a b"])
def test_aliases_are_checked_like_names_and_latest_and_numbers_are_reserved(
    alias: str, registry_dir: Path
) -> None:
    registry = ModelRegistry(registry_dir)
    with pytest.raises(ModelNameError):
        registry.alias("cartpole-ppo", alias, 1)


def test_a_model_name_with_at_sign_says_how_refs_are_written(
    registry_dir: Path, cartpole_model: object
) -> None:
    with pytest.raises(ModelNameError, match="separates a name from its version"):
        ModelRegistry(registry_dir).save("cartpole@3", cartpole_model)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cartpole-ppo", ModelRef("cartpole-ppo", LATEST)),
        ("cartpole-ppo@latest", ModelRef("cartpole-ppo", LATEST)),
        ("cartpole-ppo@3", ModelRef("cartpole-ppo", 3)),
        ("cartpole-ppo@007", ModelRef("cartpole-ppo", 7)),
        ("cartpole-ppo@champion", ModelRef("cartpole-ppo", "champion")),
        ("v1.2_final-B", ModelRef("v1.2_final-B", LATEST)),
    ],
)
def test_references_parse(text: str, expected: ModelRef) -> None:
    assert parse_ref(text) == expected
    assert str(parse_ref(str(expected))) == str(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cartpole@", "ends with '@'"),
        ("cartpole@0", "numbered from 1"),
        ("cartpole@-1", "alias in"),
        ("cartpole@../x", "alias in"),
        ("@3", "empty"),
    ],
)
def test_bad_references_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ModelNameError, match=message):
        parse_ref(text)


def test_a_reference_cannot_be_given_twice() -> None:
    with pytest.raises(ModelNameError, match="already names a version"):
        parse_ref("cartpole@3", 4)
    assert parse_ref("cartpole", 4) == ModelRef("cartpole", 4)


def test_a_reference_whose_alias_starts_with_a_dash_names_that_character(
    registry_dir: Path, cartpole_model: object
) -> None:
    from cogym import Orchestrator
    from tests.conftest import make_spec

    registry = ModelRegistry(registry_dir)
    registry.save("cart", cartpole_model)
    spec = make_spec("gym:CartPole-v1", [{"name": "p", "implementation": "sb3:cart@-1"}])
    with Orchestrator(registry=registry) as orchestrator:
        result = orchestrator.run(spec)
    assert "alias in 'cart@-1' '-1' starts with '-'; use letters" in result.error
