"""Extraction through the Hamilton flow equals `extract_units`, serially and in spawned workers."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from cpg_core.extract import TABLE_NAMES, extract_units, scan_repo
from cpg_core.extract.hamilton_exec import (
    extraction_driver,
    hamilton_extract,
    hamilton_extract_files,
)
from cpg_core.extract.hamilton_flow import (
    ScanOptions,
    Selection,
    UnitEvidence,
    evidence,
    unit_evidence,
)
from cpg_core.extract.progress import ExtractProgress
from cpg_core.store.partitions import partition
from tests.extract.helpers import assert_integrity, assert_schemas
from tests.paths import FIXTURE_REPO, REPO_ROOT

UNIT_BYTES = 2_000  # several units on the fixture repository


def _assert_same(a: dict[str, pa.Table], b: dict[str, pa.Table]) -> None:
    assert list(a) == list(b) == list(TABLE_NAMES)
    for name in TABLE_NAMES:
        assert a[name].schema.equals(b[name].schema), name
        assert a[name].equals(b[name]), name


def test_flow_is_the_documented_graph() -> None:
    names = {v.name for v in extraction_driver().list_available_variables()}
    assert {"scan_result", "units_to_extract", "scan_unit", "unit_evidence", "evidence"} <= names


def test_serial_equals_extract_units() -> None:
    scan = scan_repo(FIXTURE_REPO, unit_bytes=UNIT_BYTES)
    assert len(scan.units) > 2
    expected = extract_units(scan.units)
    got = hamilton_extract(FIXTURE_REPO, unit_bytes=UNIT_BYTES)
    assert_schemas(got)
    assert_integrity(got)
    _assert_same(expected, got)


def test_two_spawned_workers_equal_extract_units() -> None:
    scan = scan_repo(FIXTURE_REPO, unit_bytes=UNIT_BYTES)
    updates: list[ExtractProgress] = []
    got = hamilton_extract(FIXTURE_REPO, workers=2, unit_bytes=UNIT_BYTES, progress=updates.append)
    _assert_same(extract_units(scan.units, workers=2), got)
    total = len(scan.units)
    assert updates[0] == ExtractProgress(done=0, total=total)
    assert [u.done for u in updates] == list(range(total + 1))
    assert sorted(u.unit for u in updates[1:] if u.unit) == [u.unit_id for u in scan.units]
    assert sum(u.files for u in updates) == len(scan.files)


def test_collect_ignores_completion_order(tmp_path: Path) -> None:
    """Units finishing in any order, in memory or spilled to IPC files, merge to the same bytes."""
    scan = scan_repo(FIXTURE_REPO, unit_bytes=UNIT_BYTES)
    in_memory = [unit_evidence(u, "") for u in scan.units]
    spilled = [unit_evidence(u, str(tmp_path)) for u in scan.units]
    assert all(e.ipc_paths and e.tables is None for e in spilled)
    expected = evidence(in_memory).tables
    for seed in range(3):
        mixed: list[UnitEvidence] = [
            *in_memory[: len(in_memory) // 2],
            *spilled[len(spilled) // 2 :],
        ]
        random.Random(seed).shuffle(mixed)
        _assert_same(expected, evidence(mixed).tables)


def test_selected_files_only(tmp_path: Path) -> None:
    scan = scan_repo(FIXTURE_REPO, unit_bytes=UNIT_BYTES)
    chosen = ["app/core.py", "scripts/run_app.py"]
    got = hamilton_extract_files(scan, chosen, options=ScanOptions(unit_bytes=UNIT_BYTES)).tables
    assert got["files"].column("path").to_pylist() == chosen
    full = extract_units(scan.units)
    for name in TABLE_NAMES:
        mask = [p in chosen for p in full[name].column("path").to_pylist()]
        assert full[name].filter(pa.array(mask, type=pa.bool_())).equals(got[name]), name


@pytest.mark.parametrize("workers", [1, 2])
def test_units_sorted_and_hashed_by_file_merge_to_the_whole_tables_partitioning(
    workers: int,
) -> None:
    """Each unit partitioned in its worker, then merged, is what partitioning every whole
    table gives: the same rows in the same order, the same hash for every file."""
    scan = scan_repo(FIXTURE_REPO, unit_bytes=UNIT_BYTES)
    assert len(scan.units) > 2
    paths = [f.path for f in scan.files]
    got = hamilton_extract_files(
        scan, paths, options=ScanOptions(unit_bytes=UNIT_BYTES), workers=workers, by_file=True
    )
    assert got.maps is not None
    whole = extract_units(scan.units)
    for name in TABLE_NAMES:
        table, pmap = partition(whole[name], "path")
        assert got.tables[name].equals(table), name
        assert got.maps[name] == pmap, name
    assert len(got.maps["files"].hashes) == len(paths)


def test_empty_repository(tmp_path: Path) -> None:
    updates: list[ExtractProgress] = []
    got = hamilton_extract(tmp_path, progress=updates.append)
    assert all(got[name].num_rows == 0 for name in TABLE_NAMES)
    assert_schemas(got)
    assert updates == [ExtractProgress(done=0, total=0)]


def test_nothing_selected(fixture_copy: Path) -> None:
    repo = fixture_copy
    got = hamilton_extract_files(scan_repo(repo), [], options=ScanOptions(), workers=2).tables
    assert all(got[name].num_rows == 0 for name in TABLE_NAMES)


def test_a_failing_worker_task_fails_the_run(tmp_path: Path) -> None:
    """An exception in a spawned worker reaches the caller (no hang, pool shut down)."""
    dr = extraction_driver(workers=2)
    inputs = {
        "repo_root": str(FIXTURE_REPO),
        "scan_options": ScanOptions(unit_bytes=UNIT_BYTES),
        "selection": Selection(),
        "spill_dir": str(tmp_path / "missing" / "dir"),  # workers cannot write their tables
    }
    with pytest.raises(OSError):
        dr.execute(["evidence"], inputs=inputs)


def test_workers_import_little() -> None:
    """A spawned worker imports these modules to unpickle a task: no `hamilton.driver` (pandas,
    dask: ≈ 1.5 s per worker, which made the Hamilton flow ≈ 14% slower than `extract_units`)."""
    code = (
        "import sys, cpg_core.extract.hamilton_exec, cpg_core.extract.hamilton_flow\n"
        "heavy = [m for m in ('hamilton.driver', 'pandas', 'dask') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)
