"""The clips of the preference page: a segment's recorded frames, as JPEG images.

A segment (ticks ``first`` to ``last`` of one actor of a recorded trial) is shown from the
frames its trial recorded (a spec with ``record_frames: true`` records the environment's
rendering of the state observed on every tick). A trial without frames cannot be shown:
:func:`check_frames` names every such trial before a page is opened.

Reading a clip reads its trial's frames whole (the datastore stores them per trial), so the
last few trials read are kept in memory, and each encoded frame is kept until the page moves on.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from cogym.errors import InputError
from cogym.web.frames import as_image, encode_frame

if TYPE_CHECKING:
    from cogym.datastore import HDF5Datastore

__all__ = ["ClipSource", "check_frames"]

KEEP_TRIALS = 2


def check_frames(datastore: HDF5Datastore, segments: Sequence[Any], where: str = "") -> None:
    """Raise :class:`~cogym.errors.InputError` naming each trial of ``segments`` that has no
    recorded frames for its segment (or is not in ``datastore``)."""
    ids = sorted({s.trial_id for s in segments})
    summaries = {s.trial_id: s for s in datastore.trials(ids=ids)} if ids else {}
    unknown = [i for i in ids if i not in summaries]
    if unknown:
        raise InputError(
            f"the queries name trials that are not in datastore {datastore.url}: "
            f"{', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}"
        )
    without = [i for i in ids if not summaries[i].frames]
    if without:
        more = f" and {len(without) - 5} more" if len(without) > 5 else ""
        listed = ", ".join(without[:5]) + more
        raise InputError(
            f"{len(without)} trial(s) of the queries have no recorded frames to show: {listed}. "
            "Record trials with 'record_frames: true' in their spec (and an environment that "
            "renders rgb_array frames, e.g. config: {render_mode: rgb_array})"
            + (f", or choose trials that have them{where}" if where else "")
        )


class ClipSource:
    """The JPEG frames of segments of a datastore's trials. Thread-safe: it reads through its
    own :class:`~cogym.HDF5Datastore` object, one trial at a time."""

    def __init__(self, datastore: HDF5Datastore, quality: int = 80) -> None:
        self.datastore = copy.copy(datastore)  # the configuration only: files opened anew
        self.quality = quality
        self._reading = threading.Lock()
        self._trials: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._encoded: dict[tuple[str, int], bytes] = {}
        self._lock = threading.Lock()

    def frames(self, segment: Any) -> list[bytes]:
        """One JPEG per tick of ``segment`` that has a frame, in tick order."""
        ticks, frames = self._trial_frames(segment.trial_id)
        rows = np.flatnonzero((ticks >= segment.first) & (ticks <= segment.last))
        if not len(rows):
            raise InputError(
                f"trial {segment.trial_id} has no recorded frames for ticks {segment.first} to "
                f"{segment.last} (its frames cover ticks {int(ticks.min()) if len(ticks) else '-'}"
                f" to {int(ticks.max()) if len(ticks) else '-'})"
            )
        out = []
        for row in rows:
            key = (segment.trial_id, int(ticks[row]))
            with self._lock:
                image = self._encoded.get(key)
            if image is None:
                image = encode_frame(as_image(frames[row]), "jpeg", self.quality)
                if image is None:
                    raise InputError(
                        f"trial {segment.trial_id}, tick {key[1]}: the recorded frame is not an "
                        f"image (shape {frames[row].shape}, dtype {frames[row].dtype})"
                    )
                with self._lock:
                    self._encoded[key] = image
            out.append(image)
        return out

    def forget(self, segments: Sequence[Any]) -> None:
        """Drop the encoded frames of ``segments`` (their query is answered)."""
        with self._lock:
            for s in segments:
                for tick in range(s.first, s.last + 1):
                    self._encoded.pop((s.trial_id, tick), None)

    def _trial_frames(self, trial_id: str) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if trial_id in self._trials:
                self._trials.move_to_end(trial_id)
                return self._trials[trial_id]
        with self._reading:
            stored = self.datastore.trial(trial_id)
        frames, ticks = stored.frames(), stored.frame_ticks()
        if frames is None or ticks is None or not len(frames):
            raise InputError(
                f"trial {trial_id} has no recorded frames; record with 'record_frames: true'"
            )
        with self._lock:
            self._trials[trial_id] = (np.asarray(ticks), frames)
            while len(self._trials) > KEEP_TRIALS:
                self._trials.popitem(last=False)
        return np.asarray(ticks), frames

