"""Crash safety in CI: `cpg build` SIGKILLed at a representative handful of points.

The full sweep (≥ 50 kill points over three scenarios) is `python -m tests.hardening.kill_harness`;
these are the same checks on five of its points, one per kind of place a build can die: between
the extraction's table files and its manifest, inside a Delta commit, while extracting the
edited file, between the outputs and the run state, between two views. Real processes (`cpg build` in a child that kills itself), real Delta,
DataFusion and files; after each kill every table must read back as its recorded data version,
every cache must be valid or detected as invalid, and the next build must leave exactly the data
versions of a clean build.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import CommitProperties, write_deltalake

from cpg_core.store.delta_store import META_DATA_VERSION
from tests.hardening._kill_checks import inspect_store
from tests.hardening._kill_child import KillSpec
from tests.hardening.kill_harness import ForkLauncher, Harness, PointResult, format_result

POINTS = [
    # extraction's table files are written, its manifest is not
    ("cold", KillSpec("extract_write_manifest", 1, "entry")),
    # inside a Delta commit: the first Parquet file of the rebuild is complete, its commit is
    # not (killed by a watcher process the instant the file gets its final name)
    ("edit_py", KillSpec("fs:data_file", 1, "entry")),
    # the edited file has just been extracted; nothing is written yet
    ("edit_py", KillSpec("extract_file", 1, "exit")),
    # every output is in the store, the run state is not
    ("edit_py", KillSpec("commit_run", 1, "entry")),
    # the edited view is written, its reader has not run
    ("edit_view", KillSpec("run_view_task", 2, "entry")),
]


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    yield Harness(tmp_path_factory.mktemp("kill"), ForkLauncher(), timeout_s=120)


@pytest.mark.parametrize(("scenario", "spec"), POINTS, ids=[f"{s}-{p.label}" for s, p in POINTS])
def test_killed_build_leaves_a_consistent_store_and_recovers(
    harness: Harness, scenario: str, spec: KillSpec
) -> None:
    base = harness.base(scenario, trace=False)
    assert not base.problems, base.problems
    result: PointResult = harness.run_point(scenario, spec)
    report = format_result(1, 1, result)
    assert result.killed, report
    assert result.survived, report
    assert result.after_kill["tables"] > 0 or scenario == "cold", report


def test_a_store_that_breaks_a_promise_fails_the_check(tmp_path: Path) -> None:
    """The checks can fail: a table whose rows no longer match its recorded data version."""
    store = tmp_path / "store"
    write_deltalake(
        str(store / "tables" / "forged"),
        pa.table({"x": [1, 2]}),
        commit_properties=CommitProperties(custom_metadata={META_DATA_VERSION: "0" * 64}),
    )
    found = inspect_store(
        store, repo=tmp_path, reference_extract=None, compile_with=None, reference_plan=None
    )
    assert any("forged v0: content hash differs" in p for p in found.problems), found.problems
