"""Helpers for the incremental-extraction tests: a copy of the fixture, cold reference results."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from cpg_core.extract import TABLE_NAMES, extract_repo
from cpg_core.extract.incremental import IncrementalExtract
from cpg_core.extract.schema import PARTITION_COLUMN
from cpg_core.store.partitions import partition


def by_file(table: pa.Table) -> tuple[pa.Table, str]:
    """An evidence table in its partitioned canonical order (by file, then canonically within
    each file) and its data version (its partition map's): the form two tables with the same
    rows share whatever order they were built in."""
    ordered, pmap = partition(table, PARTITION_COLUMN)
    return ordered, pmap.version


def cold(
    repo: Path, *, max_file_bytes: int | None = None
) -> tuple[dict[str, pa.Table], dict[str, str]]:
    """What a from-scratch extraction gives: tables by file and their data versions."""
    tables: dict[str, pa.Table] = {}
    versions: dict[str, str] = {}
    for name, table in extract_repo(repo, max_file_bytes=max_file_bytes).items():
        tables[name], versions[name] = by_file(table)
    return tables, versions


def assert_same_rows(
    result: IncrementalExtract, tables: dict[str, pa.Table], versions: dict[str, str]
) -> None:
    """The same rows and the same data versions as `tables` (a cold extraction)."""
    assert list(result.tables) == list(TABLE_NAMES)
    for name in TABLE_NAMES:
        assert result.tables[name].schema.equals(tables[name].schema), name
        assert by_file(result.tables[name])[0].equals(tables[name]), name
    assert result.data_versions == versions


def assert_equals_cold(result: IncrementalExtract, repo: Path) -> None:
    """Same rows and the same data versions as a cold extraction of `repo`."""
    tables, versions = cold(repo)
    assert_same_rows(result, tables, versions)
    assert result.files == tables["files"].num_rows
