"""`cpg query` exits cleanly every time: no abort, crash or hang after printing its result.

Before the fix about 1 call in 30-70 aborted at interpreter exit (exit 134, "terminate called
without an active exception"); on this store, made to expose the race (a table of many files and
a LIMIT that stops its scan early), the old registration failed 46 runs in 400, so the CI
slice below (60 runs) misses a return of the bug with probability (1 - 0.115)^60 < 0.1 %.
The full count runs with

    CPG_QUERY_EXIT_RUNS=400 .venv/bin/python -m pytest -q tests/test_cli_query_exit.py

and `python -m tests.hardening.query_exit_stress --compare-datasets` shows the old way failing beside it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.hardening.query_exit_stress import QUERIES, make_store, run_many

RUNS = int(os.environ.get("CPG_QUERY_EXIT_RUNS", "60"))


@pytest.mark.slow
def test_many_cpg_query_processes_all_exit_zero_with_their_rows(tmp_path: Path) -> None:
    assert 2 * len(QUERIES) <= RUNS  # every query (they rotate) runs at least twice
    store = make_store(tmp_path / "store")
    outcomes = run_many(store, RUNS, jobs=2)
    # every run: exit 0 and exactly its expected rows; no abort, crash, hang or wrong output
    assert dict(outcomes) == {(0, ""): RUNS}
