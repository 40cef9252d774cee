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
        # side by side, the two most urgent initially ready views go out together, the heaviest
        # chain first (leaf_p -> deep_1 -> deep_2 -> deep_3, then leaf_e -> mid_1)
        assert run["parallel_first"] == ["leaf_p", "leaf_e"]
        # one at a time, a view nothing reads runs as soon as it is ready (its inputs go sooner)
        sinks = {f"leaf_{c}" for c in "qwrtzuio"} | {"deep_3", "mid_1"}
        assert run["plan"][:8] == sorted(f"leaf_{c}" for c in "qwrtzuio")
        assert run["plan"].index("deep_3") == run["plan"].index("deep_2") + 1
        assert run["plan"].index("mid_1") == run["plan"].index("leaf_e") + 1
        assert set(run["plan"]) - sinks == {"leaf_p", "leaf_e", "deep_1", "deep_2"}
    assert runs[0] == runs[1]
