"""Fixtures shared by the extraction tests."""

from __future__ import annotations

import pyarrow as pa
import pytest

from cpg_core.extract import extract_repo
from tests.extract.helpers import FIXTURE_REPO


@pytest.fixture(scope="session")
def fixture_tables() -> dict[str, pa.Table]:
    """Evidence of the fixture repository, extracted once per test session."""
    return extract_repo(FIXTURE_REPO)
