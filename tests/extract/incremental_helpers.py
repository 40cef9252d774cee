"""Helpers for the incremental-extraction tests: a copy of the fixture, cold reference results."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from cpg_core.extract import TABLE_NAMES, extract_repo
from cpg_core.extract.incremental import IncrementalExtract
from cpg_core.store.content_hash import canonicalize


def cold(repo: Path) -> tuple[dict[str, pa.Table], dict[str, str]]:
    """What a from-scratch extraction gives: canonical tables and their data versions."""
    tables: dict[str, pa.Table] = {}
    versions: dict[str, str] = {}
    for name, table in extract_repo(repo).items():
        canonical = canonicalize(table)
        tables[name], versions[name] = canonical.table, canonical.data_version
    return tables, versions


def assert_equals_cold(result: IncrementalExtract, repo: Path) -> None:
    """Same rows in the same (canonical) order and the same data versions as a cold extraction."""
    tables, versions = cold(repo)
    assert list(result.tables) == list(TABLE_NAMES)
    for name in TABLE_NAMES:
        assert result.tables[name].schema.equals(tables[name].schema), name
        assert result.tables[name].equals(tables[name]), name
    assert result.data_versions == versions
    assert result.files == tables["files"].num_rows
