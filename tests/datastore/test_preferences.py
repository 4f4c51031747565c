"""Preferences stored in the datastore: durable, validated, read back in answer order."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from cogym.datastore import HDF5Datastore, Preference, Query, Segment, UnreadableFileWarning
from cogym.datastore.write.writer import MARKER
from cogym.errors import DatastoreFormatError, InputError
from tests.conftest import CARTPOLE, PROBE, make_spec


@pytest.fixture
def recorded(record):
    """Three Probe trials of 20 ticks each (the player acts at ticks 0..19)."""
    datastore, results = record(make_spec(PROBE, seed=0), trials=3)
    return datastore, [r.trial_id for r in results]


def preference(ids, answer="left", *, first=0, last=9, query_id="q1", judge="oracle", at=None):
    return Preference(
        Query(
            query_id,
            Segment(ids[0], "player", first, last),
            Segment(ids[1], "player", first + 5, last + 5),
        ),
        answer,  # type: ignore[arg-type]
        judge,
        time.time() if at is None else at,
    )


def test_preferences_read_back_in_answer_order_with_their_segments(recorded):
    datastore, ids = recorded
    given = [
        preference(ids[:2], "left", query_id="a", at=100.0),
        preference(ids[1:], "equal", query_id="b", at=101.0, judge="person:ann"),
        preference([ids[2], ids[0]], "unknown", query_id="c", at=102.0),
    ]
    for pref in given:
        datastore.add_preference(pref)
    assert HDF5Datastore(datastore.path).preferences() == given


def test_preferences_are_filtered_by_trials_and_actor(recorded):
    datastore, ids = recorded
    a = preference(ids[:2], query_id="a", at=1.0)
    b = preference(ids[1:], query_id="b", at=2.0)
    datastore.add_preference(a)
    datastore.add_preference(b)
    assert datastore.preferences(trial_ids=ids[:2]) == [a]
    assert datastore.preferences(trial_ids=ids) == [a, b]
    assert datastore.preferences(actor="player") == [a, b]
    assert datastore.preferences(actor="other") == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p, ids: replace(p, answer="both"), "'answer'"),
        (lambda p, ids: replace(p, judge=""), "'judge'"),
        (lambda p, ids: replace(p, answered_at=float("nan")), "'answered_at'"),
        (lambda p, ids: replace(p, query=replace(p.query, query_id="")), "'query.query_id'"),
        (
            lambda p, ids: replace(p, query=replace(p.query, left=Segment("nope", "player", 0, 1))),
            "query.left.trial_id",
        ),
        (
            lambda p, ids: replace(p, query=replace(p.query, right=Segment(ids[1], "ghost", 0, 1))),
            "query.right.actor",
        ),
        (
            lambda p, ids: replace(
                p, query=replace(p.query, right=Segment(ids[1], "player", 10, 20))
            ),
            "query.right: ticks 10..20 are outside ticks 0..19",
        ),
        (
            lambda p, ids: replace(p, query=replace(p.query, left=Segment(ids[0], "player", 5, 4))),
            "'query.left': last tick 4 is before first tick 5",
        ),
        (
            lambda p, ids: replace(
                p, query=replace(p.query, left=Segment(ids[0], "player", -1, 4))
            ),
            "'query.left.first'",
        ),
    ],
)
def test_a_bad_preference_is_refused_naming_the_field_and_nothing_is_stored(
    recorded, change, field
):
    datastore, ids = recorded
    bad = change(preference(ids), ids)
    with pytest.raises(InputError, match=field.replace(".", r"\.").replace("(", r"\(")):
        datastore.add_preference(bad)
    assert datastore.preferences() == []
    assert not list(datastore.path.glob("*.preferences"))


def test_a_preference_survives_kill_9_of_its_process_right_after(recorded):
    datastore, ids = recorded
    code = (
        "import os, signal, time\n"
        "from cogym.datastore import HDF5Datastore, Preference, Query, Segment\n"
        f"ds = HDF5Datastore({str(datastore.path)!r})\n"
        f"q = Query('k9', Segment({ids[0]!r}, 'player', 0, 9),\n"
        f"          Segment({ids[1]!r}, 'player', 0, 9))\n"
        "ds.add_preference(Preference(q, 'right', 'person', time.time()))\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == -9, done.stderr
    [stored] = datastore.preferences()
    assert (stored.query.query_id, stored.answer, stored.judge) == ("k9", "right", "person")


def test_processes_adding_preferences_at_once_lose_none(recorded):
    datastore, ids = recorded
    code = (
        "import sys, time\n"
        "from cogym.datastore import HDF5Datastore, Preference, Query, Segment\n"
        f"ds = HDF5Datastore({str(datastore.path)!r})\n"
        "for i in range(25):\n"
        f"    q = Query(f'{{sys.argv[1]}}-{{i}}', Segment({ids[0]!r}, 'player', 0, 9),\n"
        f"              Segment({ids[1]!r}, 'player', 3, 12))\n"
        "    ds.add_preference(Preference(q, 'left', 'oracle', time.time()))\n"
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", code, name], stderr=subprocess.PIPE)
        for name in ("a", "b", "c")
    ]
    for worker in workers:
        assert worker.wait(timeout=120) == 0, worker.stderr.read()  # type: ignore[union-attr]
    got = {p.query.query_id for p in datastore.preferences()}
    assert got == {f"{n}-{i}" for n in "abc" for i in range(25)}


def test_a_datastore_without_preferences_reads_and_gets_its_format_bumped_by_the_first(recorded):
    datastore, ids = recorded
    marker = datastore.path / MARKER
    assert json.loads(marker.read_text())["version"] == 1
    assert datastore.preferences() == []
    datastore.add_preference(preference(ids))
    assert json.loads(marker.read_text())["version"] == 2
    assert len(HDF5Datastore(datastore.path).trials()) == 3


def test_a_datastore_written_in_the_old_format_still_reads(tmp_path):
    """A marker as cogym wrote it before preferences existed (no version 2 anywhere)."""
    from cogym import Orchestrator

    root = tmp_path / "old"
    root.mkdir()
    (root / MARKER).write_text(
        json.dumps({"format": "cogym.datastore", "version": 1, "created": 0.0})
    )
    with Orchestrator(datastore=HDF5Datastore(root)) as orchestrator:
        results = orchestrator.run_many(make_spec(CARTPOLE, seed=3), 2)
    datastore = HDF5Datastore(root)
    assert [s.trial_id for s in datastore.trials()] == [r.trial_id for r in results]
    assert datastore.preferences() == []
    assert datastore.arrays("player", ("observations",))["observations"].shape[1] == 4


def test_a_newer_datastore_format_is_refused(recorded):
    datastore, _ = recorded
    marker = datastore.path / MARKER
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "version": 3}))
    with pytest.raises(DatastoreFormatError, match="version 3.*upgrade cogym"):
        HDF5Datastore(datastore.path).preferences()


def test_a_newer_preferences_file_is_named_and_the_others_read(recorded):
    datastore, ids = recorded
    datastore.add_preference(preference(ids))
    newer = datastore.path / "zzz.preferences"
    newer.write_text(json.dumps({"format": "cogym.preferences", "version": 9}) + "\n")
    with pytest.warns(UnreadableFileWarning, match="zzz.preferences.*version 9.*upgrade cogym"):
        assert len(HDF5Datastore(datastore.path).preferences()) == 1


def test_a_damaged_line_is_named_and_the_answers_before_it_read(recorded):
    datastore, ids = recorded
    datastore.add_preference(preference(ids, query_id="kept", at=1.0))
    datastore.add_preference(preference(ids, query_id="damaged", at=2.0))
    datastore.close()
    [path] = datastore.path.glob("*.preferences")
    lines = path.read_text().splitlines(keepends=True)
    lines[-1] = lines[-1].replace("damaged", "DAMAGED")
    path.write_text("".join(lines))
    with pytest.warns(UnreadableFileWarning, match="line 3 fails its checksum"):
        got = HDF5Datastore(datastore.path).preferences()
    assert [p.query.query_id for p in got] == ["kept"]


def test_a_last_line_cut_short_by_a_crash_is_not_read(recorded):
    datastore, ids = recorded
    datastore.add_preference(preference(ids, query_id="kept"))
    datastore.close()
    [path] = datastore.path.glob("*.preferences")
    with open(path, "a") as file:
        file.write('{"crc": 1, "preference": {"qu')
    assert [p.query.query_id for p in HDF5Datastore(datastore.path).preferences()] == ["kept"]


def test_env_rewards_are_the_environments_part_of_the_rewards(recorded):
    datastore, ids = recorded
    arrays = datastore.arrays("player", ("rewards", "env_rewards"), ids=ids[:1])
    assert arrays["env_rewards"].tolist() == [1.0] * 20
    assert arrays["env_rewards"].tolist() == arrays["rewards"].tolist()
