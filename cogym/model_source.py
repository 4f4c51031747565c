"""Where trials find trained models, as the core sees it: a protocol, and opening one by path.

The orchestrator, the directory and the worker pools hand a model registry to the
implementation schemes that need one (``sb3:<model>@<ref>``) without knowing its type:
:class:`ModelSource` is what they expect, :class:`cogym.registry.ModelRegistry` is cogym's.
A path or URL is opened by the ``default`` entry point of the ``cogym.model_registries``
group (cogym's opens a :class:`~cogym.registry.ModelRegistry`).
"""

from __future__ import annotations

import os
from typing import Any, Protocol, runtime_checkable

from cogym.errors import InputError
from cogym.plugins import MODEL_REGISTRY_GROUP, load_default

__all__ = ["ModelSource", "RegistryLike", "open_model_source"]


@runtime_checkable
class ModelSource(Protocol):
    """Numbered versions of trained models, with aliases; :class:`~cogym.registry.ModelRegistry`."""

    root: str
    """The directory or URL the models are kept in."""

    def models(self) -> list[str]:
        """Names of the models with at least one version."""
        ...

    def resolve(self, name: str, ref: int | str | None = None) -> Any:
        """The exact version that ``name@ref`` names now (``model@latest`` -> ``model@7``)."""
        ...

    def info(self, name: str, ref: int | str | None = None) -> Any:
        """The metadata of that version."""
        ...

    def load_version(self, info: Any, *, device: str = "cpu") -> Any:
        """The model of a version :meth:`info` returned."""
        ...


RegistryLike = ModelSource | str | os.PathLike[str] | None
"""What a ``registry=`` parameter takes: a registry, its directory or URL, or nothing."""


def open_model_source(registry: RegistryLike) -> ModelSource | None:
    """``registry`` as a :class:`ModelSource`: a path or URL opens one; ``None`` stays ``None``."""
    if registry is None or isinstance(registry, ModelSource):
        return registry
    if isinstance(registry, (str, os.PathLike)):
        opener = load_default(MODEL_REGISTRY_GROUP, "a model registry")
        return opener(registry)
    raise InputError(
        f"registry must be a ModelRegistry, a directory or a URL, got {type(registry).__name__}"
    )
