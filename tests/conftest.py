"""Fixtures every test folder shares: the fixture repository, read-only or as an editable copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.paths import FIXTURE_REPO, copy_fixture_repo

# Helper modules whose asserts fail tests: pytest explains them as it does a test's own asserts.
pytest.register_assert_rewrite("tests.hardening.races", "tests.store.children")


@pytest.fixture(scope="session")
def fixture_repo() -> Path:
    """The checked-in fixture repository (read it, never write to it)."""
    return FIXTURE_REPO


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Path:
    """A copy of the fixture repository in this test's temporary folder, free to edit."""
    return copy_fixture_repo(tmp_path / "repo")
