"""Where the repository and the fixture repository are, for tests, harnesses and benchmarks.

One definition, so a test, a script run as `python -m tests.hardening.<script>` and a benchmark all
read the same fixture, and a child process can import `tests` and `benchmarks` from any folder.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
FIXTURE_REPO: Final = REPO_ROOT / "tests" / "fixtures" / "fixture_repo"


def copy_fixture_repo(target: Path) -> Path:
    """A copy of the fixture repository at `target`, so a test can edit it (caches left out)."""
    shutil.copytree(
        FIXTURE_REPO, target, ignore=shutil.ignore_patterns(".ruff_cache", "__pycache__")
    )
    return target


def child_env() -> dict[str, str]:
    """This environment with the repository first on PYTHONPATH: `python -m tests...` anywhere."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    return env
