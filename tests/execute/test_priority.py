"""Ready tasks are submitted in plan priority order, whatever PYTHONHASHSEED."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cpg_core.plan import ExecutionPlan
from tests.execute.helpers import compile_project

# many independent entry views of different depths: set/dict order would scramble them
WIDE: dict[str, str] = {
    **{
        f"leaf_{c}": f"select order_id, amount from orders where order_id > {i}"
        for i, c in enumerate("qwertzuiop")
    },
    "deep_1": "select order_id, amount from leaf_p",
    "deep_2": "select order_id, amount from deep_1",
    "deep_3": "select sum(amount) as s from deep_2",
    "mid_1": "select count(*) as n from leaf_e",
}


def compile_wide(root: Path) -> ExecutionPlan:
    return compile_project(root, WIDE)


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
        cwd=Path(__file__).parents[2],
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
