"""The seam between trials and recording: a datalog hands each trial a recorder.

:class:`~cogym.datastore.HDF5Datastore` is the datalog that writes HDF5;
:class:`MemoryDatalog` keeps everything in memory, for tests and small experiments.
:func:`open_datalog` opens the datastore directory a spec names (``datastore: DIR``) through
the ``default`` entry point of the ``cogym.datalogs`` group (cogym's is ``HDF5Datastore``), so
that running trials needs no import of the datastore package.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from cogym.errors import ImplementationError
from cogym.plugins import DATALOG_GROUP, load_default
from cogym.trial import Sample, TrialInfo, TrialRecorder, TrialResult

__all__ = ["Datalog", "MemoryDatalog", "RecordedTrial", "open_datalog"]


@runtime_checkable
class Datalog(Protocol):
    """Anything that records trials. It must be picklable: worker processes receive a copy."""

    def begin(self, info: TrialInfo) -> TrialRecorder:
        """Called when a trial starts; the recorder receives its ticks."""
        ...


@dataclass
class RecordedTrial:
    """One trial as :class:`MemoryDatalog` keeps it."""

    info: TrialInfo
    samples: list[Sample] = field(default_factory=list)
    revisions: list[tuple[str, int, float]] = field(default_factory=list)
    result: TrialResult | None = None
    final_observations: Mapping[str, Any] = field(default_factory=dict)

    def rewards(self, actor: str) -> list[float]:
        """The actor's aggregated reward per tick, retroactive revisions applied."""
        values = {s.tick: s.rewards[actor] for s in self.samples if actor in s.rewards}
        for name, tick, value in self.revisions:
            if name == actor:
                values[tick] = value
        return [values[t] for t in sorted(values)]


class _MemoryRecorder:
    def __init__(self, record: RecordedTrial) -> None:
        self.record = record

    def append(self, sample: Sample) -> None:
        self.record.samples.append(sample)

    def revise_reward(self, actor: str, tick: int, value: float) -> None:
        self.record.revisions.append((actor, tick, value))

    def finish(self, result: TrialResult, final_observations: Mapping[str, Any]) -> None:
        self.record.result = result
        self.record.final_observations = dict(final_observations)


class MemoryDatalog:
    """Keeps every tick of every trial of this process in memory.

    >>> log = MemoryDatalog()
    >>> # Orchestrator(datalog=log).run(spec); log.trials[0].samples[0].actions
    """

    def __init__(self) -> None:
        self.trials: list[RecordedTrial] = []

    def begin(self, info: TrialInfo) -> TrialRecorder:
        record = RecordedTrial(info)
        self.trials.append(record)
        return _MemoryRecorder(record)

    def __getstate__(self) -> dict[str, Any]:
        return {"trials": []}

    def __repr__(self) -> str:
        return f"MemoryDatalog({len(self.trials)} trials)"


def open_datalog(path: str | os.PathLike[str]) -> Datalog:
    """The datastore in directory ``path``, opened by the installed datalog opener."""
    opener = load_default(DATALOG_GROUP, "a datastore to record into")
    datalog = opener(path)
    if not isinstance(datalog, Datalog):
        raise ImplementationError(
            f"the datalog opener {opener!r} returned a {type(datalog).__name__}, which has no "
            "begin(info) method; a datalog opener must return a Datalog"
        )
    return datalog
