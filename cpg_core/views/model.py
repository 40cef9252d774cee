"""A view: one read-only SQL query plus the metadata its leading comment block declares.

Besides the view, this module holds what a view declares about its data: tests (`@test`),
documented columns (`@column`) and whether those columns are an enforced contract
(`@contract: enforced`), plus singular tests (a `.sql` file under a project's `tests/` folder).
"""

from __future__ import annotations

from typing import Literal

import msgspec

Materialize = Literal["table", "inline"]
Severity = Literal["error", "warn"]
DeclaredTestKind = Literal[
    "not_null", "unique", "accepted_values", "relationships", "row_count", "expression"
]
DECLARED_TEST_KINDS: tuple[DeclaredTestKind, ...] = (
    "not_null",
    "unique",
    "accepted_values",
    "relationships",
    "row_count",
    "expression",
)


class DeclaredTest(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One `-- @test` of a view, as parsed (the compiler checks it against the output schema).

    `columns`: the view's columns the test is about (one for not_null, accepted_values and
    relationships; the combination for unique). `values`: accepted_values' SQL literals.
    `to_table`/`to_column`: the relationships target. `condition`: row_count's comparison
    (`count >= 1` as SQL over a `row_count` column) or expression's boolean SQL expression.
    `line`/`col` locate the argument text in the view file (1-based); `column_cols` the column
    of each name in `columns` (then of `to_table`, `to_column`).
    """

    name: str
    kind: DeclaredTestKind
    severity: Severity = "error"
    columns: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    to_table: str | None = None
    to_column: str | None = None
    condition: str | None = None
    line: int = 0
    col: int = 0
    column_cols: tuple[int, ...] = ()


class ColumnDoc(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One `-- @column name: type [not null] -- description` line.

    `type` is the declared type as written (None: documentation only); `line`/`col` locate the
    name and `type_col` the type in the view file."""

    name: str
    type: str | None = None
    not_null: bool = False
    description: str = ""
    line: int = 0
    col: int = 0
    type_col: int = 0


class SingularTestDef(msgspec.Struct, frozen=True, kw_only=True):
    """A singular test as loaded: a read-only query whose rows are the failures."""

    name: str
    sql: str
    path: str | None = None
    description: str = ""
    severity: Severity = "error"


class SemanticContract(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The semantic tags of a public output: what one row is and how to join it."""

    layer: str | None = None
    entity: str | None = None
    grain: str | None = None
    entity_keys: tuple[str, ...] = ()
    join_keys: tuple[str, ...] = ()
    version: str | None = None
    stability: str | None = None
    owners: tuple[str, ...] = ()


class IncrementalSpec(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """`-- @incremental: partition_by = <column> [; drivers = <table>[.<column>], ...]`.

    `partition_by` is the view's output column that names a row's partition; `drivers` the
    inputs partitioned the same way (`table` or `table.column`; empty: the tables that column
    comes from). The compiler checks the query keeps partitions apart
    (`cpg_core.plan.partitioning`). `dependencies` (`table.column`): an input listing, per
    partition, the other partitions of the lookups it reads (a cross-partition view, e.g. a
    file and the files it imports). `no_drivers` (`drivers = none`): every input is a lookup,
    so the view is rebuilt whole whenever one changes; it only publishes its partitions, for
    the partition-incremental views it drives. `line`/`col` locate the declaration in the
    view file."""

    partition_by: str
    drivers: tuple[str, ...] = ()
    no_drivers: bool = False
    dependencies: str | None = None
    line: int = 0
    col: int = 0


class ViewDef(msgspec.Struct, frozen=True, kw_only=True):
    """A view as loaded (from a file or built in code). Its name is the table name others read."""

    name: str
    sql: str
    path: str | None = None
    description: str = ""
    keys: tuple[str, ...] = ()
    materialize: Materialize = "table"
    semantic: SemanticContract | None = None
    tags: tuple[str, ...] = ()
    builtin: bool = False
    tests: tuple[DeclaredTest, ...] = ()
    columns: tuple[ColumnDoc, ...] = ()
    contract: bool = False  # `@contract: enforced`: `columns` must match the output schema
    incremental: IncrementalSpec | None = None  # `@incremental`: rebuilt by partition

    @property
    def persisted(self) -> bool:
        """Persisted views become stored tables (and Dagster assets); inline ones fold into readers."""
        return self.materialize == "table"
