"""Fixtures for the store tests: a real store in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpg_core.store.delta_store import DeltaStore


@pytest.fixture
def store(tmp_path: Path) -> DeltaStore:
    return DeltaStore(tmp_path / "store", lock_timeout_s=10)
