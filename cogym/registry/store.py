"""The model registry: numbered versions of trained models, with metadata and aliases.

Layout under the root (a local directory or any fsspec URL)::

    <model>/<version>/.claim        who allocated the number, and when (JSON)
    <model>/<version>/model.zip     the model as Stable-Baselines3 saves it (or reward_model.pt)
    <model>/<version>/meta.json     written last: a version exists once this file does
    <model>/aliases/<alias>/<n>.json    the alias's n-th change (see :mod:`.aliases`)

Saving a version:

1. pick ``n`` one above the highest number in ``<model>/`` and create ``<n>/.claim``
   exclusively; if another writer has it, try ``n + 1``. Numbers are never reused: a
   deleted version keeps its claim.
2. write ``model.zip``, then ``meta.json`` (with the model's sha256 and size) all or nothing.

A writer killed before step 2 ends leaves a number with no ``meta.json``: readers skip it and
:meth:`ModelRegistry.prune` later removes what it wrote. Renaming a finished temporary directory
into place would give the same all-or-nothing view on local disks only: object stores have no
rename, and a number taken by a directory rename is free again once that version is deleted.

Finding ``latest`` lists ``<model>/`` once and checks for ``meta.json`` from the highest number
down: it reads no file, whatever the number of versions. Loading reads ``meta.json`` and the
model's bytes once, checks size and sha256 on those bytes, then hands them to SB3.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import socket
import time
import warnings
from collections.abc import Mapping
from typing import Any, NoReturn

from gymnasium import spaces

from cogym.errors import (
    ChecksumError,
    InputError,
    ModelNotFoundError,
    ProtectedVersionError,
    RegistryFormatError,
    RegistryPathError,
    suggest,
)
from cogym.registry.aliases import AliasChange, AliasLog
from cogym.registry.meta import (
    KINDS,
    META_FILE,
    META_LIMIT,
    ModelVersion,
    json_mapping,
    library_versions,
)
from cogym.registry.modelfile import Model, algorithm_name, load_model, model_class
from cogym.registry.names import (
    LATEST,
    ModelRef,
    check_alias,
    check_name,
    parse_ref,
    version_ranges,
)
from cogym.registry.storage import Storage, open_storage
from cogym.trust import note_saved_model

__all__ = ["ModelRegistry", "as_registry"]

CLAIM_FILE = ".claim"
ABANDONED_AFTER = 3600.0
"""Seconds after which :meth:`ModelRegistry.prune` treats an unpublished version as abandoned."""


class ModelRegistry:
    """Versions of trained models in a directory (or at an fsspec URL), with aliases.

    >>> from stable_baselines3 import PPO
    >>> registry = ModelRegistry("memory://doc-models")
    >>> model = PPO("MlpPolicy", "CartPole-v1")
    >>> registry.save("cartpole-ppo", model, metrics={"mean_return": 21.0}).ref
    'cartpole-ppo@1'
    >>> registry.alias("cartpole-ppo", "champion", 1).version
    1
    >>> registry.load("cartpole-ppo@champion").__class__.__name__   # doctest: +SKIP
    'PPO'

    ``keep_last=N`` prunes each model to its last ``N`` versions (plus aliased ones) after every
    save. ``storage_options`` go to fsspec for URLs (credentials, endpoints...).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        keep_last: int | None = None,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        if keep_last is not None:
            _check_keep_last(keep_last)
        self.root = os.fspath(root)
        self.keep_last = keep_last
        self.storage_options = dict(storage_options or {})
        self._storage: Storage = open_storage(self.root, self.storage_options)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.root, self.keep_last, self.storage_options))

    def __repr__(self) -> str:
        extra = f", keep_last={self.keep_last}" if self.keep_last is not None else ""
        return f"ModelRegistry({self.root!r}{extra})"

    # -- looking up -----------------------------------------------------------------------

    def models(self) -> list[str]:
        """Names of the models with at least one version."""
        names = []
        for entry in self._storage.list(""):
            try:
                check_name(entry)
            except InputError:
                continue
            try:
                latest = self._latest_version(entry)
            except RegistryPathError as exc:
                warnings.warn(f"model {entry!r} skipped: {exc}", UserWarning, stacklevel=2)
                continue
            if latest is not None:
                names.append(entry)
        return sorted(names)

    def versions(self, name: str) -> list[int]:
        """The published version numbers of model ``name``, in increasing order."""
        check_name(name)
        numbers = [n for n in self._numbers(name) if self._published(name, n)]
        if not numbers:
            self._no_model(name)
        return numbers

    def resolve(self, name: str, ref: int | str | None = None) -> ModelRef:
        """``name@<version>`` for ``name[@ref]``: aliases and ``latest`` made exact."""
        wanted = parse_ref(name, ref)
        return ModelRef(wanted.name, self._version_of(wanted))

    def info(self, name: str, ref: int | str | None = None) -> ModelVersion:
        """The metadata of ``name@ref`` (``ref`` may be part of ``name``; default ``latest``)."""
        wanted = parse_ref(name, ref)
        return self._meta(wanted.name, self._version_of(wanted))

    def aliases(self, name: str) -> dict[str, int]:
        """Alias -> version for the aliases of ``name`` that point somewhere now."""
        check_name(name)
        return AliasLog(self._storage, name).current()

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasChange]:
        """Every change of ``alias`` (or of all aliases of ``name``), oldest first."""
        check_name(name)
        if alias is not None:
            check_alias(alias)
        return AliasLog(self._storage, name).history(alias)

    # -- loading --------------------------------------------------------------------------

    def load(
        self,
        name: str,
        ref: int | str | None = None,
        *,
        observation_space: spaces.Space | None = None,
        action_space: spaces.Space | None = None,
        device: str = "cpu",
    ) -> Model:
        """Load ``name@ref`` as an SB3 model (or policy), checking checksum and spaces.

        The spaces, when given, are compared with the ones recorded at save time *before* the
        file is unpickled; a difference raises :class:`~cogym.errors.SpaceMismatchError`.
        Loading warns once per process that SB3 files hold pickled code (not for a model this
        process saved: :func:`cogym.trust.warn_pickled_code`).
        """
        info = self.info(name, ref)
        info.check_spaces(observation_space, action_space)
        return self.load_version(info, device=device)

    def load_version(self, info: ModelVersion, *, device: str = "cpu") -> Model:
        """Load the model that ``info`` describes (from :meth:`info`), checking its checksum."""
        model_class(info)
        return load_model(self.read_model(info), info, device)

    def read_model(self, info: ModelVersion) -> bytes:
        """The model file's bytes, after checking them against ``meta.json``."""
        version = info.version
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise RegistryPathError(f"{info!r} has no version number, so no place in the registry")
        path = f"{check_name(info.name)}/{version}/{info.model_file}"
        location = self._storage.location(path)
        try:
            data = self._storage.read(path)
        except FileNotFoundError:
            raise ChecksumError(
                f"model file {location} of {info.ref} is missing although its meta.json is "
                "there; the version was deleted while being read, or the file was removed by hand"
            ) from None
        except OSError as exc:
            raise RegistryFormatError(
                f"model file {location} of {info.ref} cannot be read ({exc.strerror}); put the "
                "model file Stable-Baselines3 saved there, or save the model again"
            ) from None
        if len(data) != info.size:
            raise ChecksumError(
                f"model file {location} of {info.ref} has {len(data)} bytes, but meta.json "
                f"recorded {info.size}: the file is truncated or was replaced. Save the model again"
            )
        digest = hashlib.sha256(data).hexdigest()
        if digest != info.sha256:
            raise ChecksumError(
                f"model file {location} of {info.ref} has sha256 {digest}, but meta.json recorded "
                f"{info.sha256}: the file was altered after it was saved. Save the model again"
            )
        return data

    # -- saving ---------------------------------------------------------------------------

    def save(
        self,
        name: str,
        model: Model,
        *,
        metrics: Mapping[str, Any] | None = None,
        properties: Mapping[str, Any] | None = None,
        lineage: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Store ``model`` (an SB3 algorithm or policy) as the next version of ``name``.

        ``metrics``, ``properties`` and ``lineage`` (for instance the datastore and trial ids the
        model was trained from) must hold JSON values; they are kept in ``meta.json``.
        """
        check_name(name)  # before saving, which may take long
        algorithm = algorithm_name(model)
        buffer = io.BytesIO()
        model.save(buffer)
        data = buffer.getvalue()
        note_saved_model(data)  # loading it back in this process is no reason to warn
        return self.save_file(
            name, data, kind="sb3", algorithm=algorithm,
            observation_space=model.observation_space, action_space=model.action_space,
            metrics=metrics, properties=properties, lineage=lineage,
        )  # fmt: skip

    def save_file(
        self,
        name: str,
        data: bytes,
        *,
        kind: str,
        algorithm: str,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        metrics: Mapping[str, Any] | None = None,
        properties: Mapping[str, Any] | None = None,
        lineage: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Store ``data``, a model file of ``kind`` (:data:`~cogym.registry.meta.KINDS`), as the
        next version of ``name`` (:meth:`save` does it for SB3 models)."""
        check_name(name)
        if kind not in KINDS:
            raise InputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        info = ModelVersion(
            name=name, version=0, created=dt.datetime.now(dt.UTC),
            sha256=hashlib.sha256(data).hexdigest(), size=len(data), algorithm=algorithm,
            observation_space=observation_space, action_space=action_space,
            libraries=library_versions(), properties=json_mapping(properties, "properties"),
            metrics=json_mapping(metrics, "metrics"), lineage=json_mapping(lineage, "lineage"),
            kind=kind,
        )  # fmt: skip
        info.to_json()  # spaces that JSON cannot hold are refused before a number is taken
        version = self._claim(name)
        file = f"{name}/{version}/{info.model_file}"
        info = dataclasses.replace(info, version=version, file=self._storage.location(file))
        meta = info.to_json()
        self._storage.write(file, data)
        self._storage.write(f"{name}/{version}/{META_FILE}", meta)
        self._storage.sync(name)
        if self.keep_last is not None:
            self.prune(name, self.keep_last)
        return info

    def _claim(self, name: str) -> int:
        numbers = self._numbers(name)
        version = numbers[-1] + 1 if numbers else 1
        claim = json.dumps(
            {"pid": os.getpid(), "host": socket.gethostname(), "time": time.time()}
        ).encode()
        while not self._storage.create(f"{name}/{version}/{CLAIM_FILE}", claim):
            version += 1
        return version

    # -- aliases --------------------------------------------------------------------------

    def alias(self, name: str, alias: str, version: int) -> AliasChange:
        """Point ``alias`` of ``name`` at ``version`` (set or move it); the change is logged."""
        check_name(name)
        check_alias(alias)
        version = self._existing_version(name, version)
        return AliasLog(self._storage, name).record(alias, version)

    def unalias(self, name: str, alias: str) -> AliasChange:
        """Remove ``alias`` of ``name`` (its history stays)."""
        check_name(name)
        check_alias(alias)
        current = self.aliases(name)
        if alias not in current:
            raise ModelNotFoundError(
                f"model {name!r} has no alias {alias!r}.{suggest(alias, current)} "
                f"Its aliases: {', '.join(sorted(current)) or '(none)'}"
            )
        return AliasLog(self._storage, name).record(alias, None)

    # -- deleting -------------------------------------------------------------------------

    def delete(self, name: str, version: int) -> None:
        """Delete one version. Its number is never given out again; aliased versions are kept.

        Raises :class:`~cogym.errors.ProtectedVersionError` if an alias points at it: move or
        remove the alias first.
        """
        check_name(name)
        version = self._existing_version(name, version)
        pointing = sorted(a for a, v in self.aliases(name).items() if v == version)
        if pointing:
            raise ProtectedVersionError(
                f"cannot delete {name}@{version}: alias(es) {', '.join(pointing)} point at it; "
                f"move them first, e.g. registry.alias({name!r}, {pointing[0]!r}, <version>), "
                f"or remove them with registry.unalias"
            )
        self._remove_files(name, version)

    def _remove_files(self, name: str, version: int) -> None:
        # meta.json first: the version disappears at once, then its file goes
        self._storage.remove(f"{name}/{version}/{META_FILE}")
        for model_file in KINDS.values():
            self._storage.remove(f"{name}/{version}/{model_file}")

    def prune(self, name: str, keep_last: int) -> list[int]:
        """Delete all but the last ``keep_last`` versions of ``name`` and the aliased ones.

        Also removes what writers killed during :meth:`save` left behind (after an hour).
        Returns the deleted version numbers.
        """
        check_name(name)
        _check_keep_last(keep_last)
        numbers = self._numbers(name)
        published = [n for n in numbers if self._published(name, n)]
        keep = set(published[-keep_last:]) | set(self.aliases(name).values())
        deleted = [n for n in published if n not in keep]
        for number in deleted:
            self._remove_files(name, number)
        now = time.time()
        for number in sorted(set(numbers) - set(published)):
            leftovers = [e for e in self._storage.list(f"{name}/{number}") if e != CLAIM_FILE]
            if leftovers and self._abandoned(name, number, now):
                for entry in leftovers:
                    self._storage.remove(f"{name}/{number}/{entry}")
        return deleted

    def _abandoned(self, name: str, number: int, now: float) -> bool:
        """Whether the writer of an unpublished number claimed it long ago (so it is dead)."""
        try:
            claim = json.loads(self._storage.read(f"{name}/{number}/{CLAIM_FILE}"))
            claimed = float(claim["time"])
        except FileNotFoundError:
            return False  # a writer between creating the directory and its claim
        except (ValueError, KeyError, TypeError):
            return True  # not a claim cogym wrote
        return now - claimed > ABANDONED_AFTER

    # -- internals ------------------------------------------------------------------------

    def _numbers(self, name: str) -> list[int]:
        """Every allocated version number of ``name`` (published, being written, or deleted)."""
        return sorted(
            int(entry)
            for entry in self._storage.list(name)
            if entry.isascii() and entry.isdigit() and len(entry) <= 18 and int(entry) >= 1
        )

    def _published(self, name: str, version: int) -> bool:
        return self._storage.exists(f"{name}/{version}/{META_FILE}")

    def _latest_version(self, name: str) -> int | None:
        for number in reversed(self._numbers(name)):
            if self._published(name, number):
                return number
        return None

    def _version_of(self, wanted: ModelRef) -> int:
        if wanted.version is not None:
            return self._existing_version(wanted.name, wanted.version)
        if wanted.ref == LATEST:
            latest = self._latest_version(wanted.name)
            if latest is None:
                self._no_model(wanted.name)
            return latest
        log = AliasLog(self._storage, wanted.name)
        change = log.last_change(str(wanted.ref))
        if change is None or change.version is None:
            if self._latest_version(wanted.name) is None:
                self._no_model(wanted.name)
            known = sorted(log.current())
            removed = " (it was removed)" if change is not None else ""
            raise ModelNotFoundError(
                f"model {wanted.name!r} has no alias {wanted.ref!r}{removed}."
                f"{suggest(str(wanted.ref), [*known, LATEST])} "
                f"Its aliases: {', '.join(known) or '(none)'}; 'latest' is always there"
            )
        if not self._published(wanted.name, change.version):
            raise ModelNotFoundError(
                f"alias {wanted.ref!r} of model {wanted.name!r} points at version "
                f"{change.version}, which was deleted; move it with `cogym models alias "
                f"{wanted.name} {wanted.ref} <version>` or "
                f"registry.alias({wanted.name!r}, {wanted.ref!r}, <version>)"
            )
        return change.version

    def _existing_version(self, name: str, version: int | str) -> int:
        if isinstance(version, bool) or not isinstance(version, int):
            if isinstance(version, str) and version.isascii() and version.isdigit():
                version = int(version)
            else:
                raise InputError(f"version of {name!r} must be a number, got {version!r}")
        if self._published(name, version):
            return version
        numbers = [n for n in self._numbers(name) if self._published(name, n)]
        if not numbers:
            self._no_model(name)
        raise ModelNotFoundError(
            f"model {name!r} has no version {version}; it has {version_ranges(numbers)} "
            f"(latest {numbers[-1]})"
        )

    def _meta(self, name: str, version: int) -> ModelVersion:
        path = f"{name}/{version}/{META_FILE}"
        where = self._storage.location(path)
        try:
            data = self._storage.read(path, META_LIMIT)
        except FileNotFoundError:
            raise ModelNotFoundError(f"version {version} of model {name!r} was deleted") from None
        except OSError as exc:
            raise RegistryFormatError(f"{where} cannot be read ({exc.strerror})") from None
        if len(data) > META_LIMIT:
            raise RegistryFormatError(
                f"{where} is larger than {META_LIMIT:,} bytes, far more than cogym writes; keep "
                "large data out of metrics, properties and lineage, and save the model again"
            )
        info = ModelVersion.from_json(data, where=where, file="")
        info = dataclasses.replace(
            info, file=self._storage.location(f"{name}/{version}/{info.model_file}")
        )
        if info.name != name or info.version != version:
            raise RegistryPathError(
                f"{where} says it describes {str(info.name)[:100]!r} version {info.version}, but "
                f"it sits where {name}@{version} lives: a meta.json describes only its own "
                "version, so it was edited or copied by hand. Restore the original file or save "
                "the model again"
            )
        return info

    def _no_model(self, name: str) -> NoReturn:
        known = self.models()
        raise ModelNotFoundError(
            f"no model {name!r} in the registry at {self.root}.{suggest(name, known)} "
            f"Known models: {', '.join(known[:20]) or '(none)'}"
            + (f", and {len(known) - 20} more" if len(known) > 20 else "")
        )


def as_registry(registry: ModelRegistry | str | os.PathLike[str] | None) -> ModelRegistry | None:
    """``registry`` as a :class:`ModelRegistry`: a path or URL opens one; ``None`` stays."""
    if registry is None or isinstance(registry, ModelRegistry):
        return registry
    if isinstance(registry, (str, os.PathLike)):
        return ModelRegistry(registry)
    raise InputError(
        f"registry must be a ModelRegistry, a directory or a URL, got {type(registry).__name__}"
    )


def _check_keep_last(keep_last: object) -> None:
    if isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 1:
        raise InputError(f"keep_last must be a whole number of at least 1, got {keep_last!r}")


def _rebuild(root: str, keep_last: int | None, storage_options: dict[str, Any]) -> ModelRegistry:
    return ModelRegistry(root, keep_last=keep_last, storage_options=storage_options)
