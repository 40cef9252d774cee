"""CPG ids and contents do not depend on the interpreter's hash seed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa

from cpg_core.plan.hashing import hash_value
from tests.cpg.build import CpgBuild

ROOT = Path(__file__).resolve().parents[2]
DIGEST_SCRIPT = """
import sys
from tests.cpg.build import build_cpg
from tests.cpg.conftest import FIXTURE_REPO
from tests.cpg.test_determinism import digest
print(digest(build_cpg(FIXTURE_REPO)))
"""


def digest(build: CpgBuild) -> str:
    """One hash over the sorted rows of the persisted CPG tables."""

    def rows(table: pa.Table) -> list[list[object]]:
        return sorted([list(row.values()) for row in table.to_pylist()], key=repr)

    names = ("cpg_nodes", "cpg_edges", "cpg_props")
    return hash_value([[name, rows(build.outputs[name])] for name in names])


def test_same_contents_across_hash_seeds(fixture_cpg: CpgBuild) -> None:
    expected = digest(fixture_cpg)
    for seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", DIGEST_SCRIPT],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip().splitlines()[-1] == expected, f"PYTHONHASHSEED={seed}"
