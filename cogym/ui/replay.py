"""A trial's frames for the replay player: the recorded ones, or re-rendered from its seed and
recorded actions when it recorded none and its environment renders.

Frames are encoded as JPEG once and kept for the last few trials opened.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from cogym.datastore.replay import render_replay
from cogym.errors import CogymError
from cogym.web.frames import as_image, encode_frame

if TYPE_CHECKING:
    from cogym.datastore.read.stored import StoredTrial

__all__ = ["KEEP_TRIALS", "FrameSource", "TrialFrames"]

KEEP_TRIALS = 3


@dataclass
class TrialFrames:
    """The frames of one trial by tick; ``how`` says where they come from (``recorded``,
    ``re-rendered`` or ``none``) and ``note`` why there are none."""

    ticks: list[int]
    frames: list[np.ndarray] = field(repr=False)
    how: str
    note: str = ""
    _jpeg: dict[int, bytes] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def jpeg(self, tick: int) -> bytes | None:
        """The frame of ``tick`` as JPEG, ``None`` if there is none or it is not an image."""
        with self._lock:
            if tick in self._jpeg:
                return self._jpeg[tick]
        try:
            row = self.ticks.index(tick)
        except ValueError:
            return None
        image = encode_frame(as_image(self.frames[row]), "jpeg", 85)
        if image is not None:
            with self._lock:
                self._jpeg[tick] = image
        return image


def frames_of(stored: StoredTrial) -> TrialFrames:
    """``stored``'s frames: recorded if it has them, else re-rendered when it can be."""
    frames, ticks = stored.frames(), stored.frame_ticks()
    if frames is not None and ticks is not None and len(frames):
        return TrialFrames([int(t) for t in ticks], list(frames), "recorded")
    if stored.summary.seed is None:
        return TrialFrames([], [], "none", "the trial has no frames and no seed to re-run it")
    try:
        ticks, images, stopped = render_replay(stored)
    except CogymError as exc:
        return TrialFrames([], [], "none", f"the trial has no frames; re-rendering failed: {exc}")
    if not images:
        why = f": {stopped}" if stopped else ""
        return TrialFrames([], [], "none", f"the trial has no frames and re-rendered none{why}")
    note = f"re-rendered up to tick {ticks[-1]}: {stopped}" if stopped else ""
    return TrialFrames(ticks, images, "re-rendered", note)


class FrameSource:
    """The frames of the last :data:`KEEP_TRIALS` trials asked for (thread-safe)."""

    def __init__(self) -> None:
        self._trials: OrderedDict[str, TrialFrames] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, trial_id: str, read: Callable[[], StoredTrial]) -> TrialFrames:
        """The frames of ``trial_id`` (a full id); ``read()`` gives the trial if they are not
        kept (reading a trial reads its frames whole: once per trial, not once per frame)."""
        with self._lock:
            if trial_id in self._trials:
                self._trials.move_to_end(trial_id)
                return self._trials[trial_id]
        found = frames_of(read())
        with self._lock:
            self._trials[trial_id] = found
            while len(self._trials) > KEEP_TRIALS:
                self._trials.popitem(last=False)
        return found
