"""Recorded trials out of the datastore: a NumPy archive, a Minari dataset, a video.

Minari (``pip install "cogym[minari]"``) and the video writers (``pip install "cogym[video]"``)
are optional and imported only when used.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from gymnasium import spaces

from cogym.datastore.format import spaces as leafs
from cogym.datastore.read.arrays import FIELDS, TrialArrays
from cogym.datastore.read.query import TrialFilter
from cogym.errors import InputError, MissingExtraError
from cogym.spaces import space_to_dict

if TYPE_CHECKING:
    from cogym.datastore.datastore import HDF5Datastore
    from cogym.datastore.read.stored import StoredTrial

__all__ = [
    "NPZ_FORMAT",
    "NPZ_VERSION",
    "minari_id_problem",
    "read_npz",
    "to_minari",
    "to_npz",
    "to_video",
]

NPZ_FORMAT = "cogym.npz"
NPZ_VERSION = 1


def _flatten(prefix: str, value: Any, out: dict[str, np.ndarray]) -> None:
    if isinstance(value, Mapping):
        for key, sub in value.items():
            _flatten(f"{prefix}/{key}", sub, out)
    else:
        out[prefix] = np.asarray(value)


def to_npz(
    datastore: HDF5Datastore,
    path: str | os.PathLike[str],
    actor: str,
    flt: TrialFilter | None = None,
) -> TrialArrays:
    """Write ``actor``'s arrays (every field) to a compressed ``.npz``; return what was written.

    Nested spaces become ``observations/<key>/...`` entries; ``metadata`` holds the format,
    version and the spaces as JSON; ``trial_ids`` and ``offsets`` say which rows are whose.
    """
    data = datastore.arrays(actor, FIELDS, flt)
    if not data.rows:
        raise InputError(f"no rows of actor {actor!r} in the selected trials; nothing to export")
    out: dict[str, np.ndarray] = {}
    for name, value in data.items():
        _flatten(name, value, out)
    out["has_final"] = data.has_final
    out["trial_ids"] = np.array(data.trial_ids)
    out["offsets"] = data.offsets
    metadata = {
        "format": NPZ_FORMAT,
        "version": NPZ_VERSION,
        "actor": actor,
        "observation_space": space_to_dict(data.observation_space)
        if data.observation_space
        else None,
        "action_space": space_to_dict(data.action_space) if data.action_space else None,
    }
    out["metadata"] = np.array(json.dumps(metadata))
    # written beside the archive, then renamed over it: an export that fails midway (a full
    # disk) leaves the previous archive whole and no half-written one
    target = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(target))
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as f:
            np.savez_compressed(f, **out)  # type: ignore[arg-type]
        os.chmod(temporary, 0o666 & ~_umask())  # as open() would have made it
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return data


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_npz(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read back :func:`to_npz`'s archive: ``(metadata, arrays by flat name)``."""
    with np.load(path, allow_pickle=False) as archive:
        try:
            metadata = json.loads(str(archive["metadata"]))
        except KeyError:
            raise InputError(f"{path} is not a cogym archive: it has no metadata entry") from None
        if metadata.get("format") != NPZ_FORMAT:
            raise InputError(f"{path} is not a cogym archive (format {metadata.get('format')!r})")
        if metadata.get("version", 0) > NPZ_VERSION:
            raise InputError(
                f"{path} has archive format version {metadata['version']}; this cogym reads up to "
                f"{NPZ_VERSION}; upgrade cogym"
            )
        return metadata, {name: archive[name] for name in archive.files if name != "metadata"}


# -- Minari ------------------------------------------------------------------------------------


def _minari_value(
    space: spaces.Space, columns: Mapping[tuple[str, ...], np.ndarray], path: tuple[str, ...] = ()
) -> Any:
    if isinstance(space, spaces.Dict):
        return {
            key: _minari_value(sub, columns, path + (leafs.key_name(key),))
            for key, sub in space.spaces.items()
        }
    if isinstance(space, spaces.Tuple):
        return tuple(
            _minari_value(sub, columns, path + (str(i),)) for i, sub in enumerate(space.spaces)
        )
    return columns[path]


def to_minari(
    datastore: HDF5Datastore,
    dataset_id: str,
    actor: str | None = None,
    flt: TrialFilter | None = None,
    *,
    description: str | None = None,
) -> tuple[Any, int]:
    """Write single-agent trials as a Minari dataset; return ``(dataset, trials skipped)``.

    Each trial is one episode (observations include the final one). Trials without a final
    observation (those that failed) are skipped. Minari writes under ``MINARI_DATASETS_PATH``
    (default ``~/.minari/datasets``).
    """
    try:
        import minari
        from minari.data_collector.episode_buffer import EpisodeBuffer
    except ImportError as exc:
        raise MissingExtraError("exporting to Minari", "minari", "minari") from exc
    problem = minari_id_problem(dataset_id)
    if problem:
        raise InputError(f"Minari dataset id {dataset_id!r}: {problem}")
    summaries = datastore.trials(flt)
    if not summaries:
        raise InputError("no trials match; nothing to export")
    if actor is None:
        names = {a for s in summaries for a in s.actor_classes}
        if len(names) != 1:
            raise InputError(
                f"Minari datasets hold one agent; the trials have actors {sorted(names)}: "
                "choose one with --actor"
            )
        actor = names.pop()
    episodes = []
    observation_space = action_space = None
    skipped = 0
    environment = summaries[0].environment
    for summary in summaries:
        stored = datastore.trial(summary.trial_id)
        classes = stored.actor_classes
        acting = [n for n, c in classes.items() if c.action_space is not None]
        if acting != [actor]:
            raise InputError(
                f"trial {summary.trial_id} has acting actors {acting}; Minari export takes "
                f"single-agent trials whose one acting actor is {actor!r}"
            )
        record = stored._actor(actor)
        if record.final_observation is None or record.actions is None:
            skipped += 1
            continue
        observation_space = record.schema.observation_space
        action_space = record.schema.action_space
        observations = {
            path: np.concatenate([column, record.final_observation[path]])
            for path, column in record.observations.items()
        }
        rows = record.rows
        rewards = _per_row_rewards(record.ticks, record.reward_ticks, record.rewards)
        terminations = np.zeros(rows, dtype=bool)
        truncations = np.zeros(rows, dtype=bool)
        if rows:
            if record.ended_how == 1:
                terminations[-1] = True
            else:
                truncations[-1] = True
        episodes.append(
            EpisodeBuffer(
                id=len(episodes),
                seed=summary.seed,
                observations=_minari_value(observation_space, observations),
                actions=_minari_value(action_space, record.actions),  # type: ignore[arg-type]
                rewards=rewards.tolist(),
                terminations=terminations.tolist(),
                truncations=truncations.tolist(),
            )
        )
    if not episodes:
        raise InputError(
            "none of the selected trials has a final observation (all failed?); nothing to export"
        )
    env = environment[len("gym:") :] if environment.startswith("gym:") else None
    with warnings.catch_warnings():
        # Minari asks for author, e-mail and code links, which a datastore does not know
        warnings.filterwarnings("ignore", message=".*is set to None.*", category=UserWarning)
        dataset = minari.create_dataset_from_buffers(
            dataset_id,
            episodes,
            env=env,
            observation_space=observation_space,
            action_space=action_space,
            algorithm_name="cogym",
            description=description or f"cogym trials of actor {actor!r} in {environment}",
            jpeg_encoding=False,
        )
    return dataset, skipped


def minari_id_problem(dataset_id: str) -> str | None:
    """What is wrong with a Minari dataset id, or None. Minari makes the dataset's directory
    before it parses the id, so a malformed one (or one without its version, which it cannot
    read back) would leave a directory that breaks every later listing of the datasets."""
    from minari.dataset.minari_dataset import DATASET_ID_RE

    match = DATASET_ID_RE.fullmatch(dataset_id)
    if match is None or match["version"] is None:
        return (
            "write it as [namespace/]name-v<version>, e.g. cartpole/expert-v0 (a namespace "
            "has at least two characters; the version is required)"
        )
    return None


def _per_row_rewards(
    ticks: np.ndarray, reward_ticks: np.ndarray, rewards: np.ndarray
) -> np.ndarray:
    rows = np.searchsorted(ticks, reward_ticks, side="right") - 1
    valid = rows >= 0
    return np.bincount(rows[valid], weights=rewards[valid], minlength=len(ticks))


# -- video -------------------------------------------------------------------------------------


def to_video(stored: StoredTrial, path: str | os.PathLike[str], fps: float = 30.0) -> int:
    """Write the trial's recorded frames as a video (``.mp4``) or an animated ``.gif``; return
    the frame count."""
    frames = stored.frames()
    if frames is None or not len(frames):
        raise InputError(
            f"trial {stored.trial_id} has no recorded frames; record with 'record_frames: true' "
            "and an environment that renders RGB arrays (render_mode: rgb_array)"
        )
    suffix = Path(path).suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise InputError(f"{path}: write a .mp4 or a .gif (got {suffix or 'no extension'!r})")
    try:
        import imageio.v2 as imageio
        import imageio.v3 as iio
    except ImportError as exc:
        raise MissingExtraError("writing videos", "video", "imageio") from exc
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        frames = np.clip(frames, 0, 255).astype(np.uint8)
    if suffix == ".gif":
        iio.imwrite(path, frames, duration=1000.0 / fps, loop=0)
        return len(frames)
    height, width = frames.shape[1:3]
    frames = np.pad(
        frames, ((0, 0), (0, height % 2), (0, width % 2), (0, 0))
    )  # codecs want even sizes
    try:
        imageio.mimwrite(path, frames, fps=fps, macro_block_size=1)
    except (ImportError, RuntimeError) as exc:
        raise MissingExtraError("writing .mp4 videos", "video", "imageio-ffmpeg") from exc
    return len(frames)
