"""A datastore's published shards on any fsspec filesystem (``s3://``, ``gs://``, ``memory://``).

Layout under the URL::

    cogym-datastore.json        the marker, as in a datastore directory
    shards/<stem>.h5            shard data; invisible until its commit record exists
    commits/<stem>.json         the commit record that makes ``shards/<stem>.h5`` part of the
                                datastore: its size, SHA-256, the shards it supersedes, and its
                                index (the trial summaries), so listing trials reads no shard
    locks/maintenance           held by a deletion or compaction (see
                                :mod:`cogym.datastore.objstore.maintenance`)

Publishing a shard is two writes: the data is uploaded to ``shards/`` (on object stores an
object appears whole or not at all, and readers never list ``shards/`` anyway), then the small
commit record is created with ``mode="create"`` (``If-None-Match: *`` on S3). A process killed
between the two leaves an uncommitted object that no reader sees; the shard is still in the
writer's local spool (:mod:`cogym.datastore.objstore.spool`) and is published again from there.
Readers list ``commits/`` only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cogym.datastore.format.shard import open_shard
from cogym.datastore.write.writer import BASE_VERSION, DATASTORE_FORMAT, DATASTORE_VERSION, MARKER
from cogym.errors import DatastoreError, DatastoreFormatError, NotADatastoreError
from cogym.urls import BUCKET_PROTOCOLS, access_hint, open_url

__all__ = ["BLOCK_BYTES", "Commit", "ObjectStore", "file_digest"]

COMMIT_FORMAT = "cogym.datastore.commit"
COMMIT_VERSION = 1
SHARDS = "shards"
COMMITS = "commits"
BLOCK_BYTES = 1 << 17
"""Bytes fetched per range request when a shard is read in place (128 KiB)."""


@dataclass(frozen=True)
class Commit:
    """One commit record: a published shard of the datastore."""

    name: str
    """The shard's name, ``<stem>.h5`` (as in a datastore directory)."""
    sha256: str
    size: int
    supersedes: tuple[str, ...]
    index: tuple[str, ...]
    specs: tuple[str, ...]
    trial_spec: tuple[int, ...]

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "format": COMMIT_FORMAT,
                "version": COMMIT_VERSION,
                "name": self.name,
                "sha256": self.sha256,
                "size": self.size,
                "supersedes": list(self.supersedes),
                "index": list(self.index),
                "specs": list(self.specs),
                "trial_spec": list(self.trial_spec),
            }
        ).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Commit:
        try:
            d = json.loads(data)
            if d.get("format") != COMMIT_FORMAT:
                raise ValueError(f"format {d.get('format')!r}, expected {COMMIT_FORMAT!r}")
            if int(d["version"]) > COMMIT_VERSION:
                raise DatastoreFormatError(
                    where,
                    f"commit record version {d['version']}, and this cogym reads versions up to "
                    f"{COMMIT_VERSION}; upgrade cogym to read it",
                )
            return cls(
                name=str(d["name"]),
                sha256=str(d["sha256"]),
                size=int(d["size"]),
                supersedes=tuple(str(s) for s in d["supersedes"]),
                index=tuple(str(s) for s in d["index"]),
                specs=tuple(str(s) for s in d["specs"]),
                trial_spec=tuple(int(i) for i in d["trial_spec"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DatastoreFormatError(where, f"not a readable commit record ({exc})") from None


def file_digest(path: Path) -> tuple[str, int]:
    """The SHA-256 (hex) and size of a local file."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def shard_index(path: Path) -> tuple[list[str], list[str], list[int]]:
    """The index columns of a local shard: index lines, specs, each trial's spec number."""
    with open_shard(path) as tree:
        return (
            [str(s) for s in tree.read("index")],
            [str(s) for s in tree.read("specs")],
            [int(i) for i in tree.read("trial_spec")],
        )


class ObjectStore:
    """The shards of a datastore at an fsspec URL; see the module docstring."""

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None) -> None:
        self.url = url.rstrip("/")
        self.storage_options = dict(storage_options or {})
        self.fs, self.root, self.protocol = open_url(
            url, self.storage_options, "datastore", NotADatastoreError
        )
        if not self.root:
            raise NotADatastoreError(
                f"{url!r} names no location: give a bucket and a prefix, e.g. s3://bucket/trials"
            )

    def key(self, *parts: str) -> str:
        return "/".join((self.root, *parts))

    def location(self, *parts: str) -> str:
        """Where a key is, for messages."""
        return "/".join((self.url, *parts))

    # -- the marker, and whether the URL can be reached at all ------------------------------------

    def _unreachable(self, exc: BaseException, doing: str) -> NotADatastoreError:
        hint = access_hint(exc, self.protocol, self.root.split("/")[0])
        return NotADatastoreError(
            f"cannot {doing} the datastore at {self.url}: {type(exc).__name__}: {exc}; {hint}"
        )

    def read_marker(self) -> dict | None:
        """The marker's content, ``None`` if there is none; an error naming the URL if the
        store cannot be reached (no bucket, no credentials, no endpoint)."""
        try:
            data = self.fs.cat_file(self.key(MARKER))
        except FileNotFoundError:
            self._check_bucket()
            return None
        except Exception as exc:  # noqa: BLE001  (each backend raises its own; named below)
            raise self._unreachable(exc, "read") from None
        try:
            marker = json.loads(data)
        except ValueError as exc:
            raise DatastoreFormatError(self.location(MARKER), f"not JSON: {exc}") from None
        if not isinstance(marker, dict) or marker.get("format") != DATASTORE_FORMAT:
            raise DatastoreFormatError(
                self.location(MARKER), f"not a cogym datastore marker ({DATASTORE_FORMAT!r})"
            )
        version = marker.get("version")
        if not isinstance(version, int) or version > DATASTORE_VERSION:
            raise DatastoreFormatError(
                self.location(MARKER),
                f"the datastore has format version {version!r}, and this cogym reads versions "
                f"up to {DATASTORE_VERSION}; upgrade cogym to use it",
            )
        return marker

    def _check_bucket(self) -> None:
        if self.protocol not in BUCKET_PROTOCOLS:
            return
        bucket = self.root.split("/")[0]
        try:
            self.fs.invalidate_cache(bucket)
            self.fs.ls(bucket, detail=False)
        except Exception as exc:  # noqa: BLE001  (each backend raises its own; named below)
            raise self._unreachable(exc, "reach") from None

    def require(self) -> None:
        """Check that a datastore is at the URL (for reading)."""
        if self.read_marker() is None:
            raise NotADatastoreError(
                f"no datastore at {self.url}: it has no {MARKER}. Record trials into it with "
                f"`cogym run SPEC --datastore {self.url}`, or copy one there with "
                f"`cogym trials sync DIR {self.url}`"
            )

    def ensure(self) -> None:
        """Create the datastore at the URL if it is not there (for writing); check it if it is."""
        if self.read_marker() is not None:
            return
        others = [n for n in self._names("") if n.rstrip("/").rsplit("/", 1)[-1] != MARKER]
        if others:
            raise NotADatastoreError(
                f"{self.url} is not a cogym datastore (it has no {MARKER}) and holds other "
                f"objects ({', '.join(sorted(others)[:3])}); record into a new or empty prefix"
            )
        marker = {"format": DATASTORE_FORMAT, "version": BASE_VERSION, "created": time.time()}
        try:
            self.fs.pipe_file(self.key(MARKER), json.dumps(marker).encode(), mode="create")
        except FileExistsError:
            pass  # another process created it first
        except Exception as exc:  # noqa: BLE001  (each backend raises its own; named below)
            raise self._unreachable(exc, "create") from None
        self.read_marker()

    def _names(self, folder: str) -> list[str]:
        full = self.key(folder) if folder else self.root
        self.fs.invalidate_cache(full)
        try:
            entries = self.fs.ls(full, detail=False)
        except FileNotFoundError:
            return []
        except Exception as exc:  # noqa: BLE001  (each backend raises its own; named below)
            raise self._unreachable(exc, "list") from None
        return [e.rstrip("/").rsplit("/", 1)[-1] for e in entries]

    # -- commits ----------------------------------------------------------------------------------

    def commit_names(self) -> list[str]:
        """The names of the committed shards (``<stem>.h5``), sorted."""
        return sorted(
            n[: -len(".json")] + ".h5" for n in self._names(COMMITS) if n.endswith(".json")
        )

    def read_commits(self, names: Sequence[str]) -> dict[str, bytes | Exception]:
        """The commit records of ``names`` (fetched concurrently where the backend can)."""
        if not names:
            return {}
        keys = {self._commit_key(n): n for n in names}
        found = self.fs.cat(list(keys), on_error="return")
        out: dict[str, bytes | Exception] = {}
        for key, name in keys.items():
            value = found.get(key)
            if value is None:
                value = next((v for k, v in found.items() if k.endswith(key)), None)
            out[name] = value if value is not None else FileNotFoundError(key)
        return out

    def _commit_key(self, name: str) -> str:
        return self.key(COMMITS, name[: -len(".h5")] + ".json")

    def publish(self, local: Path, supersedes: Sequence[str] = ()) -> Commit:
        """Upload the local shard ``local`` and commit it under its own name; idempotent (a
        shard already committed with the same checksum is left as it is)."""
        sha256, size = file_digest(local)
        index, specs, trial_spec = shard_index(local)
        commit = Commit(
            local.name, sha256, size, tuple(supersedes), tuple(index), tuple(specs),
            tuple(trial_spec),
        )  # fmt: skip
        data = self.key(SHARDS, local.name)
        try:
            self.fs.put_file(str(local), data)
            uploaded = self.fs.info(data)["size"]
        except Exception as exc:  # noqa: BLE001  (each backend raises its own; named here)
            raise DatastoreError(
                f"cannot upload shard {local.name} to {self.url}: {type(exc).__name__}: {exc}; "
                f"it stays in {local.parent} and is published again at the next flush"
            ) from exc
        if uploaded != size:
            raise DatastoreError(
                f"shard {local.name} reached {self.url} with {uploaded} bytes of {size}; it stays "
                f"in {local.parent} and is published again at the next flush"
            )
        self._create_commit(commit)
        return commit

    def _create_commit(self, commit: Commit) -> None:
        key = self._commit_key(commit.name)
        try:
            self.fs.pipe_file(key, commit.to_json(), mode="create")
        except FileExistsError:
            existing = Commit.from_json(self.fs.cat_file(key), self.location(key))
            if existing.sha256 != commit.sha256:
                raise DatastoreError(
                    f"{self.location(key)} already commits another shard named {commit.name} "
                    "(checksums differ); the local copy is left in place"
                ) from None

    def remove(self, name: str) -> None:
        """Retire a committed shard: its commit record first, then its data."""
        for key in (self._commit_key(name), self.key(SHARDS, name)):
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(key)

    def uncommitted(self, older_than: float) -> list[str]:
        """Shard objects with no commit record, last modified more than ``older_than`` seconds
        ago (left by a writer killed between upload and commit)."""
        committed = set(self.commit_names())
        full = self.key(SHARDS)
        self.fs.invalidate_cache(full)
        try:
            entries = self.fs.ls(full, detail=True)
        except FileNotFoundError:
            return []
        out = []
        now = time.time()
        for entry in entries:
            name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
            modified = _modified(entry)
            if name not in committed and modified is not None and now - modified > older_than:
                out.append(name)
        return out

    def remove_data(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self.key(SHARDS, name))

    # -- reading shard data -----------------------------------------------------------------------

    def open_data(self, name: str) -> IO[bytes]:
        """The shard's bytes as a file that fetches ranges on demand."""
        return self.fs.open(
            self.key(SHARDS, name), "rb", block_size=BLOCK_BYTES, cache_type="blockcache"
        )

    def download(self, commit: Commit, target: Path) -> Path:
        """The shard's bytes in the local file ``target``, checked against the commit's
        SHA-256 (written under a temporary name, then renamed)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            self.fs.get_file(self.key(SHARDS, commit.name), str(tmp))
            sha256, size = file_digest(tmp)
            if sha256 != commit.sha256 or size != commit.size:
                raise DatastoreError(
                    f"{self.location(SHARDS, commit.name)} does not match its commit record "
                    f"(SHA-256 {sha256[:12]}... of {size} bytes, expected {commit.sha256[:12]}... "
                    f"of {commit.size}); the shard is damaged in the store"
                )
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    # -- the maintenance lock ---------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, stale_seconds: float = 600.0) -> Iterator[None]:
        """Held by one deletion or compaction at a time; one older than ``stale_seconds`` (its
        holder died) is taken over."""
        key = self.key("locks", "maintenance")
        mine = json.dumps({"holder": secrets.token_hex(8), "time": time.time()}).encode()
        for _attempt in range(2):
            try:
                self.fs.pipe_file(key, mine, mode="create")
                break
            except FileExistsError:
                try:
                    held = json.loads(self.fs.cat_file(key))
                except (FileNotFoundError, ValueError):
                    continue
                if time.time() - float(held.get("time", 0)) < stale_seconds:
                    raise DatastoreError(
                        f"another deletion or compaction is running on {self.url}; wait for it "
                        f"to finish (a lock left by a dead one expires after {stale_seconds:.0f} s)"
                    ) from None
                with contextlib.suppress(FileNotFoundError):
                    self.fs.rm_file(key)
        else:
            raise DatastoreError(f"cannot take the maintenance lock of {self.url}; try again")
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(key)

    def __repr__(self) -> str:
        return f"ObjectStore({self.url!r})"


def _modified(entry: dict[str, Any]) -> float | None:
    value = entry.get("LastModified", entry.get("created", entry.get("mtime")))
    if value is None:
        return None
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
