"""CPG ids and contents do not depend on the interpreter's hash seed."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.cpg.build import CpgBuild, digest
from tests.paths import REPO_ROOT

DIGEST_SCRIPT = """
from tests.cpg.build import build_cpg, digest
from tests.paths import FIXTURE_REPO
print(digest(build_cpg(FIXTURE_REPO)))
"""


def test_same_contents_across_hash_seeds(fixture_cpg: CpgBuild) -> None:
    expected = digest(fixture_cpg)
    for seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", DIGEST_SCRIPT],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip().splitlines()[-1] == expected, f"PYTHONHASHSEED={seed}"
