"""Paths of the dashboard's pages for one trial, model or version (relative to the mount)."""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["model_path", "trial_path"]


def trial_path(trial_id: str) -> str:
    """``/trials/<id>``: the trial's page (:mod:`cogym.ui.trial`)."""
    return f"/trials/{quote(trial_id, safe='')}"


def model_path(name: str, ref: int | str | None = None) -> str:
    """``/models/<name>``, or with ``ref`` (a version number or an alias) that version's page."""
    path = f"/models/{quote(name, safe='')}"
    return path if ref is None else f"{path}/{quote(str(ref), safe='')}"
