"""Fixtures shared by the extraction tests."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from cpg_core.extract import extract_repo


@pytest.fixture(scope="session")
def fixture_tables(fixture_repo: Path) -> dict[str, pa.Table]:
    """Evidence of the fixture repository, extracted once per test session."""
    return extract_repo(fixture_repo)
