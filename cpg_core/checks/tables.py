"""The tables tests read, and their data versions, from the store and the project's sources.

Views (and evidence tables a build stored) are Delta tables in the store: their data version
is the content hash cpg recorded in the table's last data commit, read from the log files
without loading the table. An external source's version is the one a build gives it
(`cpg_core.plan.source_versions`: from what its format records), so a test's cached result and
a view's cache agree on when a source changed.

A small table is read into memory once for all its tests. A large one is a `NativeTable`:
DataFusion scans it with its own readers (deltalake's table provider for Delta tables, its
Parquet reader for Parquet files), so memory stays bounded and the scan never calls back into
Python. An Arrow dataset would be scanned through Python on DataFusion's threads, and such a
scan still winding down when the interpreter exits aborts the process (docs/cli.md, "Why cpg
query never aborts").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from datafusion import SessionContext
from deltalake import DeltaTable

from cpg_core.checks.outcome import EvaluationError
from cpg_core.plan.source_versions import source_version
from cpg_core.project import SourceSpec
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.errors import TableNotFoundError

IN_MEMORY_BYTES = 32 * 2**20  # tables with at most this much Parquet are read whole


@dataclass(frozen=True)
class NativeTable:
    """A table too big to read whole, which DataFusion scans natively: a Delta table (`delta`)
    or Parquet files (`parquet`: a file or a folder of them)."""

    schema: pa.Schema
    num_rows: int
    delta: DeltaTable | None = None
    parquet: Path | None = None

    def register(self, ctx: SessionContext, name: str) -> None:
        if self.delta is not None:
            ctx.register_table(name, self.delta)
        else:
            assert self.parquet is not None
            ctx.register_parquet(name, str(self.parquet), file_extension="")

    def to_table(self) -> pa.Table:
        """Every row, read whole before this returns (for tests evaluated with Arrow compute)."""
        if self.delta is not None:
            return self.delta.to_pyarrow_table()
        assert self.parquet is not None
        return pq.ParquetDataset(_files(self.parquet)).read()


TableInput: TypeAlias = pa.Table | NativeTable


def stored_source_version(spec: SourceSpec, store: DeltaStore) -> str | None:
    """The source's data version, as a build records it (None: the source cannot be read)."""
    try:
        return source_version(spec, store.root)
    except (OSError, ValueError, pa.ArrowException):
        return None


def _files(path: Path) -> list[Path]:
    return [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())


def open_source(spec: SourceSpec) -> TableInput:
    """An external source: in memory when small (CSV always: read as the build reads it)."""
    try:
        if spec.format == "delta":
            return _delta(DeltaTable(str(spec.path)))
        if spec.format == "csv":
            return pacsv.read_csv(spec.path)
        files = _files(spec.path)
        if sum(f.stat().st_size for f in files) <= IN_MEMORY_BYTES:
            return pq.ParquetDataset(files).read()
        schema = pq.read_schema(files[0])
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        return NativeTable(schema=schema, num_rows=rows, parquet=spec.path)
    except (OSError, ValueError, pa.ArrowException) as error:
        raise EvaluationError(f"source {spec.name!r} cannot be read: {error}") from error


def _delta(table: DeltaTable) -> TableInput:
    """A Delta table: read whole when its files are small, else scanned natively."""
    actions = pa.table(table.get_add_actions(flatten=True))
    size = sum(actions.column("size_bytes").to_pylist()) if actions.num_rows else 0
    if size <= IN_MEMORY_BYTES:
        return table.to_pyarrow_table()
    ctx = SessionContext()
    ctx.register_table("t", table)
    schema = ctx.table("t").schema()
    rows = int(ctx.sql("SELECT count(*) AS n FROM t").to_pylist()[0]["n"])
    return NativeTable(schema=schema, num_rows=rows, delta=table)


class StoredTables:
    """Data versions and readable tables of the tables a plan's tests read."""

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
                stored_source_version(spec, self.store)
                if spec is not None
                else self.store.data_version(name)
            )
        return self._versions[name]

    def open(self, name: str) -> TableInput:
        """The table, read into memory when its files are small, else a `NativeTable`;
        raises `EvaluationError` when it cannot be read."""
        if name not in self._open:
            spec = self.sources.get(name)
            if spec is not None:
                self._open[name] = open_source(spec)
            else:
                try:
                    self._open[name] = _delta(self.store.table(name))
                except TableNotFoundError:
                    raise EvaluationError(
                        f"table {name!r} is not in the store {self.store.root}: build it first "
                        f"(`cpg build --select {name}`, or materialize it in Dagster)"
                    ) from None
        return self._open[name]
