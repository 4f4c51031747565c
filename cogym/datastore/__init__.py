"""The trial datastore: every tick of every trial recorded into HDF5, found, replayed, trained on.

    >>> from cogym.datastore import HDF5Datastore, TrialFilter
    >>> # Orchestrator(datastore=HDF5Datastore("trials/")).run_many(spec, 100)
    >>> # HDF5Datastore("trials/").arrays("player", ("observations", "actions"))

Laid out as the pipeline a trial goes through, each layer importing only those above it::

    format/    the files and the values in them; imports nothing else of the datastore
        spaces     values as columns (a space's leaves, stacked and unstacked)
        tree       a laid-out tree of arrays, in memory (MemoryTree) or any (Tree)
        record     a finished trial as columns (TrialRecord) and what a cast shares (Schemas)
        layout     a shard's columns, and reading trials back out of them
        shard      shard files in HDF5, written and published atomically, read back
        journal    journal files: the groups of ended trials appended by a writing process
    preferences  answers to "which clip is better?" (Segment, Query, Preference), one file per
               writing process
    write/     recording: each tick in, journals and shards out
        recorder   one trial's ticks in memory (TrialBuffer)
        plain      plain one-actor trials as stacked columns (the fast path)
        builder    laying trials out into the columns of one shard (ShardBuilder)
        writer     a process's files: journal each ended trial, publish shards (ProcessWriter)
    read/      finding and reading what was recorded
        query      the index entries (TrialSummary) and the filter on them (TrialFilter)
        catalog    which files of a directory hold which trials
        stored     one recorded trial, read back (StoredTrial)
        arrays     one actor's rows across trials, for training (TrialArrays)
    objstore/  a datastore at an fsspec URL (s3://, gs://, memory://): writers spool locally
               and publish shards with commit records; readers list those (see its docstring)
    location   whether a datastore is a directory or a URL
    datastore  the facade, HDF5Datastore, that ties them together
    replay, maintenance, export, plot, follow
               the operations on recorded trials: re-running one, deleting and compacting,
               NumPy/Minari/video out, returns drawn, trials as they end in any process
"""

from __future__ import annotations

from cogym.datastore.datastore import HDF5Datastore, UnreadableFileWarning
from cogym.datastore.preferences import Answer, Preference, Query, Segment
from cogym.datastore.read.arrays import TrialArrays
from cogym.datastore.read.query import TrialFilter, TrialSummary
from cogym.datastore.read.stored import StoredTrial
from cogym.datastore.replay import Difference, ReplayReport
from cogym.datastore.write.writer import UnrecordedTrialWarning

__all__ = [
    "Answer",
    "Difference",
    "HDF5Datastore",
    "Preference",
    "Query",
    "ReplayReport",
    "Segment",
    "StoredTrial",
    "TrialArrays",
    "TrialFilter",
    "TrialSummary",
    "UnreadableFileWarning",
    "UnrecordedTrialWarning",
]
