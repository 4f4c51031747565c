"""``meta.json``: what the registry knows about one version, in JSON only.

A version's metadata never holds pickled objects: spaces are stored in the JSON form of
:mod:`cogym.spaces`, and a reader refuses a ``format_version`` newer than its own instead of
guessing at it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np
from gymnasium import spaces

from cogym.errors import CogymError, InputError, RegistryFormatError, SpaceMismatchError
from cogym.spaces import sb3_observes, space_from_dict, space_to_dict

__all__ = [
    "FORMAT_VERSION",
    "KINDS",
    "META_FILE",
    "META_LIMIT",
    "MODEL_FILE",
    "ModelVersion",
    "library_versions",
]

FORMAT_VERSION = 2
"""The newest ``format_version`` this cogym reads. Version 1 describes Stable-Baselines3 models
(and is still written for them); version 2 adds ``kind``, written for the other kinds."""

MODEL_FILE = "model.zip"
KINDS = {"sb3": MODEL_FILE, "reward_model": "reward_model.pt"}
"""The kinds of model a version may hold, and the name of each kind's model file: ``sb3``, a
Stable-Baselines3 algorithm or policy (``model.zip``); ``reward_model``, a learned reward
(:mod:`cogym.learn.reward_model`: a torch state dict, read with ``weights_only=True``)."""
META_FILE = "meta.json"
META_LIMIT = 16 << 20
"""The largest ``meta.json`` read (16 MiB): far above what cogym writes."""

_LIBRARIES = {
    "cogym": "cogym",
    "stable_baselines3": "stable-baselines3",
    "torch": "torch",
    "gymnasium": "gymnasium",
    "numpy": "numpy",
}


def library_versions() -> dict[str, str]:
    """Versions of the libraries a saved model depends on, and of Python."""
    found = {}
    for key, distribution in _LIBRARIES.items():
        try:
            found[key] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    found["python"] = platform.python_version()
    return found


@dataclass(frozen=True, repr=False)
class ModelVersion:
    """One published version of a model, as its ``meta.json`` describes it.

    >>> version = registry.info("cartpole-ppo@champion")        # doctest: +SKIP
    >>> version.ref, version.algorithm, version.metrics          # doctest: +SKIP
    ('cartpole-ppo@3', 'PPO', {'mean_return': 500.0})
    """

    name: str
    version: int
    created: dt.datetime
    sha256: str
    size: int
    algorithm: str
    """``PPO``, ``DQN``... for Stable-Baselines3's own classes, else ``<module>:<Class>``."""
    observation_space: spaces.Space
    action_space: spaces.Space
    libraries: dict[str, str] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=dict)
    file: str = MODEL_FILE
    """Where the model file is (a local path or a URL)."""
    kind: str = "sb3"
    """What the version holds: one of :data:`KINDS`."""

    @property
    def model_file(self) -> str:
        """The name of the model file in the version's directory."""
        return KINDS[self.kind]

    @property
    def ref(self) -> str:
        """``name@version``: the exact reference, as trials record it."""
        return f"{self.name}@{self.version}"

    def check_spaces(
        self,
        observation_space: spaces.Space | None = None,
        action_space: spaces.Space | None = None,
        expected_by: str = "the caller",
    ) -> None:
        """Raise :class:`~cogym.errors.SpaceMismatchError` naming both spaces if one differs
        (an SB3 model observes images channels-first: :func:`~cogym.spaces.sb3_observes`)."""
        if observation_space is not None and not (
            sb3_observes(self.observation_space, observation_space)
            if self.kind == "sb3"
            else observation_space == self.observation_space
        ):
            raise SpaceMismatchError(
                f"model {self.ref} observes {self.observation_space}, but {expected_by} expects "
                f"observations in {observation_space}; use a model trained on this environment"
            )
        if action_space is not None and action_space != self.action_space:
            raise SpaceMismatchError(
                f"model {self.ref} acts in {self.action_space}, but {expected_by} expects "
                f"actions in {action_space}; use a model trained on this environment"
            )

    def to_dict(self) -> dict[str, Any]:
        """The ``meta.json`` form."""
        kind = {} if self.kind == "sb3" else {"kind": self.kind}
        return {
            "format_version": 1 if self.kind == "sb3" else 2,
            **kind,
            "name": self.name,
            "version": self.version,
            "created": self.created.isoformat(),
            "file": self.model_file,
            "sha256": self.sha256,
            "size": self.size,
            "algorithm": self.algorithm,
            "observation_space": space_to_dict(self.observation_space),
            "action_space": space_to_dict(self.action_space),
            "libraries": dict(self.libraries),
            "properties": dict(self.properties),
            "metrics": dict(self.metrics),
            "lineage": dict(self.lineage),
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False).encode()

    @classmethod
    def from_json(cls, data: bytes, where: str, file: str) -> ModelVersion:
        """Read a ``meta.json``; ``where`` names it in errors, ``file`` is its model's location."""
        try:
            raw = json.loads(data)
        except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, or a huge integer
            raise RegistryFormatError(
                f"{where} is not valid JSON ({str(exc)[:200]}); it was not written by cogym"
            ) from None
        except RecursionError:
            raise RegistryFormatError(
                f"{where} nests lists or mappings too deep to read; it was not written by cogym"
            ) from None
        if not isinstance(raw, dict) or not isinstance(raw.get("format_version"), int):
            raise RegistryFormatError(
                f"{where} has no integer 'format_version'; it was not written by cogym"
            )
        if raw["format_version"] > FORMAT_VERSION:
            raise RegistryFormatError(
                f"{where} has format version {raw['format_version']}, newer than this cogym reads "
                f"({FORMAT_VERSION}); upgrade cogym (pip install -U cogym) to read this registry"
            )
        kind = raw.get("kind", "sb3")
        if kind not in KINDS:
            raise RegistryFormatError(
                f"{where} holds a model of kind {str(kind)[:40]!r}, which this cogym does not know "
                f"(it knows {', '.join(KINDS)}); upgrade cogym to read it"
            )
        try:
            return cls(
                kind=kind,
                name=_typed(raw, "name", str),
                version=_typed(raw, "version", int),
                created=dt.datetime.fromisoformat(raw["created"]),
                sha256=_typed(raw, "sha256", str),
                size=_typed(raw, "size", int),
                algorithm=_typed(raw, "algorithm", str),
                observation_space=space_from_dict(raw["observation_space"]),
                action_space=space_from_dict(raw["action_space"]),
                libraries=dict(raw.get("libraries", {})),
                properties=dict(raw.get("properties", {})),
                metrics=dict(raw.get("metrics", {})),
                lineage=dict(raw.get("lineage", {})),
                file=file,
            )
        except (KeyError, TypeError, ValueError, CogymError, RecursionError) as exc:
            raise RegistryFormatError(
                f"{where} is malformed: {type(exc).__name__}: {str(exc)[:300]}"
            ) from None

    def __repr__(self) -> str:
        metrics = ", ".join(f"{k}={_short(v)}" for k, v in list(self.metrics.items())[:4])
        if len(self.metrics) > 4:
            metrics += ", ..."
        return (
            f"ModelVersion({self.ref}, {self.algorithm}, created {self.created:%Y-%m-%d %H:%M:%S}, "
            f"{format_size(self.size)}{', ' + metrics if metrics else ''})"
        )


def _typed(raw: dict[str, Any], key: str, kind: type) -> Any:
    """``raw[key]`` if it is a ``kind`` (a non-negative one for numbers), else a ValueError."""
    value = raw[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"{key!r} must be a {kind.__name__}, got {type(value).__name__}")
    if kind is int and value < 0:
        raise ValueError(f"{key!r} must not be negative, got {value}")
    return value


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def format_size(size: int) -> str:
    """``512 B``, ``52.7 KB``, ``1.2 MB``."""
    if size < 1024:
        return f"{size} B"
    if size < 1024**2:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024**2:.1f} MB"


def json_mapping(value: Mapping[str, Any] | None, field_name: str) -> dict[str, Any]:
    """``value`` as a JSON-ready dict (NumPy scalars and arrays converted), or an InputError."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(
            f"{field_name} must be a mapping of names to values, got {type(value).__name__}"
        )
    return {_key(k, field_name): _json_value(v, f"{field_name}[{k!r}]") for k, v in value.items()}


def _key(key: Any, where: str) -> str:
    if not isinstance(key, str):
        raise InputError(
            f"{where} has key {key!r} of type {type(key).__name__}; keys must be strings"
        )
    return key


def _json_value(value: Any, where: str) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    elif isinstance(value, np.ndarray):
        value = value.tolist()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(
                f"{where} is {value}, which JSON cannot hold; store a finite number or None"
            )
        return value
    if isinstance(value, Mapping):
        return {_key(k, where): _json_value(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise InputError(
        f"{where} is a {type(value).__name__}, which is not JSON; the registry stores only JSON "
        "values (numbers, strings, booleans, None, lists and mappings of them)"
    )
