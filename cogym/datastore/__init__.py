"""The trial datastore: every tick of every trial recorded into HDF5, found, replayed, trained on.

    >>> from cogym.datastore import HDF5Datastore, TrialFilter
    >>> # Orchestrator(datastore=HDF5Datastore("trials/")).run_many(spec, 100)
    >>> # HDF5Datastore("trials/").arrays("player", ("observations", "actions"))

One concern per module. Recording: :mod:`~cogym.datastore.record` (a trial in memory),
:mod:`~cogym.datastore.writer` (a process's files), :mod:`~cogym.datastore.journal`.
The format: :mod:`~cogym.datastore.spaces` (values as columns), :mod:`~cogym.datastore.layout`
(a shard's columns), :mod:`~cogym.datastore.builder` (laying trials out),
:mod:`~cogym.datastore.tree` and :mod:`~cogym.datastore.shard` (in memory and in HDF5).
Reading: :mod:`~cogym.datastore.catalog`, :mod:`~cogym.datastore.query`,
:mod:`~cogym.datastore.stored`, :mod:`~cogym.datastore.arrays`. Then
:mod:`~cogym.datastore.replay`, :mod:`~cogym.datastore.export`, :mod:`~cogym.datastore.plot`
and :mod:`~cogym.datastore.maintenance`; :mod:`~cogym.datastore.datastore` ties them together.
"""

from __future__ import annotations

from cogym.datastore.arrays import TrialArrays
from cogym.datastore.datastore import HDF5Datastore, UnreadableFileWarning
from cogym.datastore.query import TrialFilter, TrialSummary
from cogym.datastore.replay import Difference, ReplayReport
from cogym.datastore.stored import StoredTrial
from cogym.datastore.writer import UnrecordedTrialWarning

__all__ = [
    "Difference",
    "HDF5Datastore",
    "ReplayReport",
    "StoredTrial",
    "TrialArrays",
    "TrialFilter",
    "TrialSummary",
    "UnreadableFileWarning",
    "UnrecordedTrialWarning",
]
