"""Where a datastore is: a local directory, or an fsspec URL."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cogym.errors import InputError, NotADatastoreError
from cogym.spec import datastore_url_problem

__all__ = ["local_directory"]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def local_directory(path: str | os.PathLike[str]) -> Path | None:
    """``path`` as a local directory (a ``file://`` URL is its path); ``None`` for other URLs."""
    text = os.fspath(path)
    if not isinstance(text, str):
        raise InputError(f"a datastore is a directory or a URL, got {text!r}")
    problem = datastore_url_problem(text)
    if problem is not None:
        raise NotADatastoreError(problem)
    if text.lower().startswith("file://"):
        return Path(unquote(urlsplit(text).path))
    if _URL.match(text):
        return None
    return Path(text)
