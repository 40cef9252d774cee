"""The CPG of the fixture repository, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cpg.build import CpgBuild, build_cpg


@pytest.fixture(scope="session")
def fixture_cpg(fixture_repo: Path) -> CpgBuild:
    """Extraction plus every built-in view over the fixture repository."""
    return build_cpg(fixture_repo)
