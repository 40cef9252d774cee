"""The evidence catalog: every input dataset with its Arrow schema and, when known, its size."""

from __future__ import annotations

from typing import Literal

import msgspec
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads

from cpg_core.project import SourceSpec

DatasetKind = Literal["evidence", "source", "view"]


class Dataset(msgspec.Struct, frozen=True):
    """A table the plan reads or writes. `schema` is None for a view that could not be planned.

    A plan record: it encodes itself (`cpg_core.plan.plan_file`)."""

    name: str
    kind: DatasetKind
    schema: pa.Schema | None
    rows: int | None = None
    bytes: int | None = None
    location: str | None = None


class SourceError(ValueError):
    """An external source could not be opened (message names the source and path)."""


def read_source(spec: SourceSpec) -> Dataset:
    """Read a source's real schema (and row count / size when the format records them)."""
    try:
        if spec.format == "delta":
            from deltalake import DeltaTable

            table = DeltaTable(str(spec.path))
            schema = pa.schema(table.schema().to_arrow())
            actions = pa.table(table.get_add_actions(flatten=True))
            rows = sum(v for v in actions.column("num_records").to_pylist() if v is not None)
            size = sum(v for v in actions.column("size_bytes").to_pylist() if v is not None)
            return Dataset(spec.name, "source", schema, rows, size, str(spec.path))
        if spec.format == "csv":
            with pacsv.open_csv(spec.path) as reader:
                schema = reader.schema
            return Dataset(
                spec.name, "source", schema, None, spec.path.stat().st_size, str(spec.path)
            )
        dataset = pads.dataset(spec.path, format="parquet")
        rows = 0
        size = 0
        for fragment in dataset.get_fragments():
            assert isinstance(fragment, pads.ParquetFileFragment)
            rows += fragment.metadata.num_rows
            size += fragment.metadata.serialized_size + sum(
                fragment.metadata.row_group(i).total_byte_size
                for i in range(fragment.metadata.num_row_groups)
            )
        return Dataset(spec.name, "source", dataset.schema, rows, size, str(spec.path))
    except (OSError, ValueError, pa.ArrowException) as error:
        raise SourceError(f"source {spec.name!r} ({spec.format}, {spec.path}): {error}") from error
