"""A version's model file: the class that loads it, and bytes that SB3 can load.

The checksum in ``meta.json`` proves that the file is the one saved with it; it does not prove
that either was written by cogym. A model file and checksum replaced together by something that
is not a whole Stable-Baselines3 file are refused here, naming the file, before SB3 sees them.
"""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING, TypeAlias

from cogym.errors import InputError, RegistryFormatError
from cogym.registry.meta import ModelVersion

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm
    from stable_baselines3.common.policies import BasePolicy

Model: TypeAlias = "BaseAlgorithm | BasePolicy"
"""What the registry stores and loads: a Stable-Baselines3 algorithm or policy."""

__all__ = ["Model", "algorithm_name", "check_sb3_zip", "load_model", "model_class"]


def algorithm_name(model: Model) -> str:
    """How ``meta.json`` names the class that loads ``model``: ``PPO`` or ``<module>:<Class>``."""
    from cogym.wrappers.sb3_actor import ALGORITHMS

    cls = type(model)
    if not (callable(getattr(model, "save", None)) and callable(getattr(cls, "load", None))):
        raise InputError(
            f"the registry stores Stable-Baselines3 models (PPO, DQN...) or policies, got a "
            f"{cls.__name__}, which has no save()/load()"
        )
    if not (hasattr(model, "observation_space") and hasattr(model, "action_space")):
        raise InputError(f"a {cls.__name__} has no observation_space/action_space to record")
    if cls.__module__.startswith("stable_baselines3.") and cls.__name__ in ALGORITHMS:
        return cls.__name__
    return f"{cls.__module__}:{cls.__qualname__}"


def model_class(info: ModelVersion) -> type:
    """The SB3 algorithm or policy class that ``info`` names; anything else is refused."""
    from stable_baselines3.common.base_class import BaseAlgorithm
    from stable_baselines3.common.policies import BasePolicy

    from cogym.wrappers.sb3_actor import algorithm_class

    if info.kind == "reward_model":
        raise InputError(
            f"{info.ref} is a reward model, not a Stable-Baselines3 model: use it as the actor "
            f"reward:{info.ref}, or load it with cogym.learn.load_reward_model"
        )
    cls = algorithm_class(info.algorithm)
    if not (isinstance(cls, type) and issubclass(cls, (BaseAlgorithm, BasePolicy))):
        raise RegistryFormatError(
            f"meta.json of {info.ref} names {info.algorithm!r} as the model's class, which is "
            "neither a Stable-Baselines3 algorithm nor a policy; the file was edited by hand"
        )
    return cls


def load_model(data: bytes, info: ModelVersion, device: str) -> Model:
    """The model in ``data`` (checked against ``info`` already), loaded by SB3."""
    from stable_baselines3.common.policies import BasePolicy

    from cogym.wrappers.sb3_actor import load_sb3_model

    check_sb3_zip(data, info, policy=issubclass(model_class(info), BasePolicy))
    try:
        return load_sb3_model(io.BytesIO(data), info.algorithm, device, source=info.ref)
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError, AssertionError) as exc:
        # what SB3 raises for a zip whose entries are not what it saved
        raise _not_an_sb3_file(info, f"{type(exc).__name__}: {str(exc)[:200]}") from exc


def check_sb3_zip(data: bytes, info: ModelVersion, *, policy: bool) -> None:
    """Refuse bytes that are not a whole zip of the kind SB3 saves.

    An algorithm's file has a ``data`` entry (JSON); a policy's is a PyTorch archive, with a
    ``<archive>/data.pkl`` entry.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise _not_an_sb3_file(info, f"not a whole zip file: {exc}") from None
    if policy:
        wanted, found = "<archive>/data.pkl", any(n.endswith("/data.pkl") for n in names)
    else:
        wanted, found = "data", "data" in names
    if not found:
        shown = ", ".join(sorted(names)[:5]) or "nothing"
        raise _not_an_sb3_file(info, f"the zip has no {wanted!r} entry; it holds {shown}")


def _not_an_sb3_file(info: ModelVersion, detail: str) -> RegistryFormatError:
    return RegistryFormatError(
        f"model file {info.file} of {info.ref} matches its meta.json but is not a model "
        f"Stable-Baselines3 can load ({detail}); the file and its checksum were replaced "
        "together. Restore the original file or save the model again"
    )
