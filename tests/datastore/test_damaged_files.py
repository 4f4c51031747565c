"""Damaged files: a shard or journal whose bytes changed is refused by name, never misread.

Bits are flipped at random (seeded) positions of a shard, one flip per copy; every copy is read
back whole (the index, every trial's ticks, the training arrays). Each flip must either change
nothing that is read, or be reported naming the file: a :class:`CorruptFileError` on reading,
or an :class:`UnreadableFileWarning` and the file's trials left out. A flip read back as
different trials, or an error that does not name the file, fails the test.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from cogym import Orchestrator
from cogym.datastore import HDF5Datastore, UnreadableFileWarning
from cogym.datastore.replay import same_value
from cogym.errors import CorruptFileError
from tests.conftest import CARTPOLE, make_spec

TURNS = "pettingzoo:tests.datastore.actors:turns"
FIELDS = ("observations", "actions", "rewards", "terminated", "truncated", "tick")
FLIPS = 150


def _record(root: Path) -> None:
    """One shard of plain CartPole trials and turn-based trials with Dict observations,
    messages and notes (the two layouts of a shard)."""
    turns = make_spec(
        TURNS,
        [
            {"name": "player", "implementation": "random"},
            {"name": "other", "implementation": "random"},
            {
                "name": "critic",
                "implementation": "python:tests.datastore.actors:Critic",
                "actor_class": "observer",
            },
        ],
        {"space": "dict"},
        seed=1,
    )
    with Orchestrator(datastore=HDF5Datastore(root)) as orchestrator:
        orchestrator.run_many(make_spec(CARTPOLE, seed=0), 4)
        orchestrator.run_many(turns, 3)


def read_all(root: Path) -> dict:
    """Everything a user reads from the datastore, as plain values."""
    store = HDF5Datastore(root)
    summaries = store.trials()
    out: dict = {"summaries": summaries}
    for summary in summaries:
        trial = store.trial(summary.trial_id)
        out[summary.trial_id] = (
            [tuple(sample) for sample in trial.samples()],
            trial.final_observations,
            trial.rewards_sent,
            trial.messages,
        )
    for environment in sorted({s.environment for s in summaries}):
        arrays = store.arrays("player", FIELDS, environment=environment)
        out[environment] = {name: arrays[name] for name in FIELDS}
    return out


def same(a: object, b: object) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "__dataclass_fields__") or a is None or isinstance(a, (int, float, str)):
        return a == b
    return same_value(a, b)


def outcome(root: Path, name: str, reference: dict) -> str:
    """``identical``, ``refused`` (named), or what went wrong."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            read = read_all(root)
        except CorruptFileError as exc:
            return "refused" if name in str(exc) else f"unnamed: {exc}"
        except Exception as exc:  # noqa: BLE001  (any other error is the finding)
            return f"raised {exc!r}"
    named = [w for w in caught if issubclass(w.category, UnreadableFileWarning)]
    if named:
        if not all(name in str(w.message) for w in named):
            return f"unnamed warning: {named[0].message}"
        kept = {s.trial_id for s in read["summaries"]}
        lost = {s.trial_id for s in reference["summaries"]} - kept
        return "refused" if lost else "warned, nothing lost"
    return "identical" if same(read, reference) else "misread"


def flip_bits(root: Path, tmp_path: Path, flips: int, seed: int) -> dict[str, int]:
    (shard,) = root.glob("*.h5")
    original = shard.read_bytes()
    reference = read_all(root)
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    findings = []
    for flip in range(flips):
        copy = tmp_path / f"flip{flip}"
        shutil.copytree(root, copy)
        data = bytearray(original)
        position = rng.randrange(len(data))
        data[position] ^= 1 << rng.randrange(8)
        (copy / shard.name).write_bytes(bytes(data))
        result = outcome(copy, shard.name, reference)
        counts[result] = counts.get(result, 0) + 1
        if result not in ("identical", "refused", "warned, nothing lost"):
            findings.append((position, result))
        shutil.rmtree(copy)
    assert not findings, (counts, findings)
    return counts


def test_bit_flips_in_a_shard_are_refused_by_name_or_change_nothing(tmp_path, datastore_dir):
    _record(datastore_dir)
    counts = flip_bits(datastore_dir, tmp_path, FLIPS, seed=12)
    assert counts.get("refused", 0) > FLIPS // 4, counts  # most of a shard is its data


@pytest.mark.parametrize("record", ["first", "last"])
@pytest.mark.parametrize("field", ["header length", "body length"])
def test_a_journal_whose_length_field_is_damaged_is_reported(datastore_dir, record, field):
    import struct

    datastore = HDF5Datastore(datastore_dir)
    orchestrator = Orchestrator(datastore=datastore)
    results = orchestrator.run_many(make_spec(CARTPOLE, seed=0), 3)
    (journal,) = datastore_dir.glob("*.journal")
    data = bytearray(journal.read_bytes())
    orchestrator.close()  # its writer is gone: nothing more will come
    (datastore_dir / journal.name.replace(".journal", ".h5")).unlink()
    starts = [16]
    while True:
        _, header, body, _ = struct.unpack_from("<4sIQI", data, starts[-1])
        end = starts[-1] + 20 + header + body
        if end >= len(data):
            break
        starts.append(end)
    start = starts[0] if record == "first" else starts[-1]
    offset = start + (4 if field == "header length" else 8)
    size = "<I" if field == "header length" else "<Q"
    (value,) = struct.unpack_from(size, data, offset)
    struct.pack_into(size, data, offset, value + 1000)  # more than the file holds
    journal.write_bytes(bytes(data))
    with pytest.warns(UnreadableFileWarning, match=f"{journal.name}.*damaged"):
        summaries = HDF5Datastore(datastore_dir).trials()
    kept = 0 if record == "first" else 2
    assert [s.trial_id for s in summaries] == [r.trial_id for r in results[:kept]]


def _dangling(path: Path) -> None:
    path.symlink_to(path.parent / "nowhere")


def _version_text(shard: Path) -> None:
    import h5py

    with h5py.File(shard, "r+") as f:
        f.attrs["version"] = "one"


def _segments_outside(shard: Path) -> None:
    import h5py

    with h5py.File(shard, "r+") as f:
        segments = f["actors/0/segments"]
        row = segments[0]
        row[1] = 10**6  # row_start, far past the stream's rows
        segments[0] = row


def _journal_of(header: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        from cogym.datastore.format.journal import JournalWriter

        journal = JournalWriter(path)
        journal.append([(header, [])])
        journal.close()

    return write


def _shard_case(damage: Callable[[Path], None]) -> Callable[[Path, Path], None]:
    def make(path: Path, good: Path) -> None:
        shutil.copyfile(good, path)
        damage(path)

    return make


BAD_ENTRIES: dict[str, tuple[str, Callable[[Path, Path], None]]] = {
    "dangling symlink shard": ("x.h5", lambda p, g: _dangling(p)),
    "dangling symlink journal": ("x.journal", lambda p, g: _dangling(p)),
    "directory named as a journal": ("x.journal", lambda p, g: p.mkdir()),
    "directory named as a shard": ("x.h5", lambda p, g: p.mkdir()),
    "FIFO named as a shard": ("x.h5", lambda p, g: os.mkfifo(p)),
    "FIFO named as a journal": ("x.journal", lambda p, g: os.mkfifo(p)),
    "shard version not an integer": ("x.h5", _shard_case(_version_text)),
    "segments outside their columns": ("x.h5", _shard_case(_segments_outside)),
    "journal header not an object": ("x.journal", lambda p, g: _journal_of(b"[1, 2]")(p)),
    "journal header without arrays": (
        "x.journal",
        lambda p, g: _journal_of(b'{"strings": {}, "attrs": {}}')(p),
    ),
    "journal header with bad shapes": (
        "x.journal",
        lambda p, g: _journal_of(b'{"arrays": [["index", "<i8", [-5]]], "strings": {}, '
                                 b'"attrs": {}}')(p),
    ),
}


_RELEASE = """
import os, stat, sys, time
root, marker = sys.argv[1], sys.argv[2]
time.sleep(20)
open(marker, "w").close()
for _ in range(300):  # the reader may open the FIFO again
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if stat.S_ISFIFO(os.lstat(path).st_mode):
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
    time.sleep(0.1)
"""


@pytest.fixture
def deadline(datastore_dir, tmp_path):
    """Fail, instead of hanging, if reading blocks on a FIFO opened as a file: after 20 s,
    another process opens each FIFO of the datastore for writing, which lets the reader go on
    (a thread could not: HDF5 holds the GIL while it opens a file)."""
    marker = tmp_path / "expired"
    helper = subprocess.Popen([sys.executable, "-c", _RELEASE, str(datastore_dir), str(marker)])
    yield
    helper.kill()
    helper.wait()
    assert not marker.exists(), "reading the datastore blocked on a FIFO for 20 s"


@pytest.mark.parametrize("case", sorted(BAD_ENTRIES))
def test_one_bad_entry_is_named_and_the_rest_is_read(datastore_dir, case, deadline):
    with Orchestrator(datastore=HDF5Datastore(datastore_dir)) as orchestrator:
        results = orchestrator.run_many(make_spec(CARTPOLE, seed=0), 3)
    (good,) = datastore_dir.glob("*.h5")
    name, make = BAD_ENTRIES[case]
    make(datastore_dir / name, good)
    store = HDF5Datastore(datastore_dir)
    with pytest.warns(UnreadableFileWarning, match=re.escape(name)):
        summaries = store.trials()
    assert [s.trial_id for s in summaries] == [r.trial_id for r in results]
    assert [p.path.name for p in store.problems] == [name]
    for result in results:
        assert len(list(store.trial(result.trial_id).samples())) == result.ticks
    assert store.arrays("player").rows == sum(r.ticks for r in results)


@pytest.mark.parametrize("content", [b"", b'{"format', b"\xff\xfe"], ids=["empty", "cut", "binary"])
def test_a_damaged_marker_says_how_to_write_it_again_and_the_trials_come_back(
    datastore_dir: Path, record: Callable[..., object], content: bytes
) -> None:
    import shlex

    from click.testing import CliRunner

    from cogym.cli import main

    record(make_spec(CARTPOLE, seed=0), 2)
    marker = datastore_dir / "cogym-datastore.json"
    marker.write_bytes(content)
    listed = CliRunner().invoke(main, ["trials", "ls", "--datastore", str(datastore_dir)])
    assert listed.exit_code == 2, listed.output
    assert "the datastore marker is damaged" in listed.stderr
    fix = re.search(r"Write it again: (echo '.*' > \S+)", listed.stderr.replace("\n", ""))
    assert fix is not None, listed.stderr
    subprocess.run(["sh", "-c", fix.group(1)], check=True)
    assert shlex.quote(str(marker)) in fix.group(1)
    listed = CliRunner().invoke(main, ["trials", "ls", "--datastore", str(datastore_dir)])
    assert listed.exit_code == 0, listed.stderr
    assert "(2 trials recorded)" in listed.output
