"""The tables tests read, and their data versions, from the store and the project's sources.

Views (and evidence tables a build stored) are Delta tables in the store: their data version
is the content hash cpg recorded in the table's last data commit, read from the log files
without loading the table. External sources are read from their files: a Parquet or CSV
source's version is a hash of its files' names, sizes and modification times, a Delta source's
its table version. A small table is read into memory once for all its tests; a large one opens
as a lazy Arrow dataset, so a test scans what it needs and memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import pyarrow as pa
import pyarrow.dataset as pads

from cpg_core.checks.outcome import EvaluationError
from cpg_core.plan.hashing import hash_value
from cpg_core.project import SourceSpec
from cpg_core.store.delta_store import DeltaStore, latest_log_version
from cpg_core.store.errors import TableNotFoundError

TableInput: TypeAlias = pa.Table | pads.Dataset
IN_MEMORY_BYTES = 32 * 2**20  # stored tables with at most this much Parquet are read whole


def source_version(spec: SourceSpec) -> str | None:
    """A version of an external source that changes when its files do (None: unreadable)."""
    if spec.format == "delta":
        version = latest_log_version(spec.path)
        return None if version is None else hash_value(("delta", str(spec.path), version))
    try:
        if spec.path.is_file():
            files = [spec.path]
        else:
            files = sorted(p for p in spec.path.rglob("*") if p.is_file())
        stats = [(f.as_posix(), f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    except OSError:
        return None
    return hash_value(("files", stats)) if stats else None


def open_source(spec: SourceSpec) -> pads.Dataset:
    """A lazy dataset over an external source."""
    try:
        if spec.format == "delta":
            from deltalake import DeltaTable

            return DeltaTable(str(spec.path)).to_pyarrow_dataset()
        return pads.dataset(spec.path, format=spec.format)
    except (OSError, ValueError, pa.ArrowException) as error:
        raise EvaluationError(f"source {spec.name!r} cannot be read: {error}") from error


class StoredTables:
    """Data versions and lazy datasets of the tables a plan's tests read."""

    def __init__(self, store: DeltaStore, sources: Sequence[SourceSpec] = ()) -> None:
        self.store = store
        self.sources = {spec.name: spec for spec in sources}
        self._versions: dict[str, str | None] = {}
        self._open: dict[str, TableInput] = {}

    def version(self, name: str) -> str | None:
        """The table's data version (None: not stored, or stored without one)."""
        if name not in self._versions:
            spec = self.sources.get(name)
            self._versions[name] = (
                source_version(spec) if spec is not None else self.store.data_version(name)
            )
        return self._versions[name]

    def open(self, name: str) -> TableInput:
        """The table, read into memory when its files are small, else as a lazy dataset;
        raises `EvaluationError` when it cannot be read."""
        if name not in self._open:
            spec = self.sources.get(name)
            if spec is not None:
                dataset = open_source(spec)
            else:
                try:
                    dataset = self.store.table(name).to_pyarrow_dataset()
                except TableNotFoundError:
                    raise EvaluationError(
                        f"table {name!r} is not in the store {self.store.root} (run `cpg build`)"
                    ) from None
            self._open[name] = dataset.to_table() if _small(dataset) else dataset
        return self._open[name]


def _small(dataset: pads.Dataset) -> bool:
    """Are the dataset's files at most `IN_MEMORY_BYTES`? (A test scans a lazy dataset through
    Python's Arrow bindings: about 2 ms more per query than a table in memory, measured.)"""
    if not isinstance(dataset, pads.FileSystemDataset):
        return False
    try:
        size = sum(dataset.filesystem.get_file_info(path).size or 0 for path in dataset.files)
    except (OSError, pa.ArrowException):
        return False
    return size <= IN_MEMORY_BYTES
