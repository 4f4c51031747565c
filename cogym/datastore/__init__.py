"""The trial datastore: every tick of every trial recorded into HDF5, found, replayed, trained on.

    >>> from cogym.datastore import HDF5Datastore, TrialFilter
    >>> # Orchestrator(datastore=HDF5Datastore("trials/")).run_many(spec, 100)
    >>> # HDF5Datastore("trials/").arrays("player", ("observations", "actions"))

Modules, one concern each: :mod:`~cogym.datastore.record` (a trial in memory),
:mod:`~cogym.datastore.journal` and :mod:`~cogym.datastore.writer` (recording),
:mod:`~cogym.datastore.layout` and :mod:`~cogym.datastore.shard` (the file format),
:mod:`~cogym.datastore.catalog` and :mod:`~cogym.datastore.query` (finding trials),
:mod:`~cogym.datastore.stored` (reading one), :mod:`~cogym.datastore.arrays` (training data),
:mod:`~cogym.datastore.replay`, :mod:`~cogym.datastore.export`,
:mod:`~cogym.datastore.maintenance`.
"""

from __future__ import annotations

from cogym.datastore.arrays import TrialArrays
from cogym.datastore.datastore import HDF5Datastore, UnreadableFileWarning
from cogym.datastore.query import TrialFilter, TrialSummary
from cogym.datastore.stored import StoredTrial

__all__ = [
    "HDF5Datastore",
    "StoredTrial",
    "TrialArrays",
    "TrialFilter",
    "TrialSummary",
    "UnreadableFileWarning",
]
