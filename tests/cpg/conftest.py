"""The CPG of the fixture repository, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cpg.build import CpgBuild, build_cpg

FIXTURE_REPO = Path(__file__).resolve().parents[1] / "fixtures" / "fixture_repo"


@pytest.fixture(scope="session")
def fixture_cpg() -> CpgBuild:
    """Extraction plus every built-in view over the fixture repository."""
    return build_cpg(FIXTURE_REPO)
