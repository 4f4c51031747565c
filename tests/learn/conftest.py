"""Fixtures of the learning tests: trials recorded into a fresh datastore (as the datastore's)."""

from __future__ import annotations

from tests.datastore.conftest import record

__all__ = ["record"]
