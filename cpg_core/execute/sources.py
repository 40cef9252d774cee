"""External sources as build inputs: a cheap data version now, the rows only if a view runs.

Why: a view's cache key needs its inputs' data versions, and hashing a source's rows means
reading all of it on every build. The version comes from what the format records instead
(`cpg_core.plan.source_versions`). A `SourceTable` carries that version to Hamilton's cache
(`versions.register_fingerprints`). A view that runs reads it one of two ways:

- a Parquet file whose columns need no conversion (`parquet_file()`): DataFusion scans the file
  itself in the view's query, with the compiled schema — only the columns and row groups the
  query needs, as a plain DataFusion session over the file would (TPC-H at scale factor 1:
  reading every source whole first cost more than the queries);
- anything else: its rows, read the first time a view that runs asks for them (`table()`), once
  per build, in the schema the plan was compiled with (`store_types.source_schema`: per column,
  so a column no view reads never matters).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from cpg_core.execute.stored_table import StoredTable
from cpg_core.plan.source_versions import source_version
from cpg_core.project import SourceSpec
from cpg_core.store.store_types import as_compiled, source_schema


class SourceReadError(ValueError):
    """A source could not be read or versioned (the message names it and its path)."""


class SourceTable:
    """A source input of one build: its data version, and its rows on first use."""

    def __init__(self, spec: SourceSpec, schema: pa.Schema | None, version: str) -> None:
        self.spec = spec
        self.schema = schema
        self.version = version
        self._table: pa.Table | None = None
        self._direct: tuple[Path | None] | None = None  # (parquet_file(),) once known
        self._lock = threading.Lock()

    def parquet_file(self) -> Path | None:
        """The Parquet file DataFusion can scan itself: one file whose schema is the compiled
        one as it is (no column to convert); None for any other source."""
        with self._lock:
            if self._direct is None:
                self._direct = (_direct_parquet(self.spec, self.schema),)
            return self._direct[0]

    def table(self) -> pa.Table:
        """The source's rows in the compiled schema (read once, then shared)."""
        with self._lock:
            if self._table is None:
                self._table = read_table(self.spec, self.schema)
            return self._table

    def __getstate__(self) -> dict[str, Any]:  # to a worker process: it reads the rows itself
        return {"spec": self.spec, "schema": self.schema, "version": self.version}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.spec, self.schema, self.version = state["spec"], state["schema"], state["version"]
        self._table = None
        self._direct = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SourceTable({self.spec.name!r}, {self.version[:12]})"


# what a view node is given for an input table: rows, or a source / a cached view output
# (`StoredTable`) whose rows are read only if the view runs
InputTable = pa.Table | SourceTable | StoredTable


def as_table(value: InputTable) -> pa.Table:
    """A view's input as rows: a source or stored table is read now (once per build)."""
    return value if isinstance(value, pa.Table) else value.table()


def source_input(spec: SourceSpec, schema: pa.Schema | None, store: Path) -> SourceTable:
    """The input of source `spec` for a build into `store` (`schema`: the compiled one)."""
    try:
        return SourceTable(spec, schema, source_version(spec, store))
    except (OSError, ValueError, pa.ArrowException) as error:
        raise SourceReadError(
            f"source {spec.name!r} ({spec.format}, {spec.path}): {error}"
        ) from error


def _direct_parquet(spec: SourceSpec, schema: pa.Schema | None) -> Path | None:
    if spec.format != "parquet" or schema is None or not spec.path.is_file():
        return None
    try:
        found = pq.read_schema(spec.path)
    except (OSError, pa.ArrowException):
        return None  # reading the rows says what is wrong
    if source_schema(found).equals(found) and found.equals(schema):
        return spec.path
    return None


def read_table(spec: SourceSpec, schema: pa.Schema | None = None) -> pa.Table:
    """All rows of a source, converted per column like its compiled schema (`schema`)."""
    if spec.format == "delta":
        from deltalake import DeltaTable

        table = DeltaTable(str(spec.path)).to_pyarrow_table()
    elif spec.format == "csv":
        types = {f.name: f.type for f in schema} if schema is not None else None
        table = pacsv.read_csv(spec.path, convert_options=pacsv.ConvertOptions(column_types=types))
    else:
        table = pads.dataset(spec.path, format="parquet").to_table()
    return as_compiled(table, schema)
