"""Ready tasks are submitted in plan priority order, whatever PYTHONHASHSEED."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.paths import REPO_ROOT


def _orders(tmp_path: Path, seed: str) -> dict[str, list[str]]:
    root = tmp_path / f"seed{seed}"
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run(
        [sys.executable, "-m", "tests.execute._priority_child", str(root)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=REPO_ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_priority_order_is_the_plan_order_under_any_hash_seed(tmp_path: Path) -> None:
    runs = [_orders(tmp_path, seed) for seed in ("0", "4242")]
    for run in runs:
        assert run["serial"] == run["plan"]
        # the two most urgent *initially ready* views go out together, heaviest chain first
        entries = [name for name in run["plan"] if name.startswith("leaf_")]
        assert run["parallel_first"] == entries[:2]
        assert run["plan"][0] == "leaf_p"
    assert runs[0] == runs[1]
