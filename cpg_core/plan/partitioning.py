"""Partition-incremental views: the compiler's record of them, and the pass that admits them.

A view may declare `-- @incremental: partition_by = <column>` (`views/incremental_syntax.py`):
each output partition (the rows sharing a value of that column) depends only on the same
partition of its driving inputs plus the whole of its lookup inputs, so a build that sees only
some partitions of a driver change recomputes just those (`cpg_core.execute.partial`) and must
get exactly what a full rebuild would. View analysis proves the query's shape
(`plan/partition_shape.py`); this pass adds what needs the whole plan:

- the view must be stored (an inline view is never rebuilt on its own: declared, it is proven
  like any view and may then *drive* its stored readers, below);
- a driver is a stored table (a dataset or a persisted view) or an inline view declared
  partitioned by the same column: its own drivers then drive the reader (`_expand`), since the
  reader's node runs the inline view over the filtered tables. Whatever else is folded in may
  not read a table that is filtered this way (it would silently see only the recomputed
  partitions): every read of a filtered table is a driver of the view or inline view reading it;
- the partition column must have a type partitions can be named by (text, integer, date,
  boolean), the same in the output and in every driver;

and folds the partitioning into the view's fingerprint (`partitioned_fingerprint`): a changed
declaration is a changed view, so no cache entry or stored partition is reused across it.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
import pyarrow as pa

from cpg_core.plan.hashing import hash_value
from cpg_core.plan.sql_parse import Position
from cpg_core.problems import Problem, ProblemCode
from cpg_core.views.model import ViewDef

Lineage = Mapping[str, tuple[tuple[str, str], ...]]


class Driver(msgspec.Struct, frozen=True, order=True):
    """A driving input and its partition column."""

    table: str
    column: str


class Partitioning(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What the compiler proved about a partition-incremental view: its output partition
    column and the driving inputs partitioned like it (sorted by table). Every other input of
    the view is a lookup: when one changes, the view is rebuilt whole — unless the view
    declares `dependencies` (an input and its column listing, per partition, the partitions
    of the lookups it reads): then a lookup partitioned by the same column changes only the
    partitions that depend on its changed ones (`execute/partition_run.py`)."""

    column: str
    drivers: tuple[Driver, ...]
    dependencies: Driver | None = None

    def driver_column(self, table: str) -> str | None:
        return next((d.column for d in self.drivers if d.table == table), None)


def partitioned_fingerprint(fingerprint: str, partitioning: Partitioning | None) -> str:
    """A view's fingerprint with its partitioning folded in (unchanged without one)."""
    if partitioning is None:
        return fingerprint
    return hash_value(["cpg-partitioned/1", fingerprint, msgspec.to_builtins(partitioning)])


def partition_problem(
    view: ViewDef, at: Position, message: str, hint: str | None = None
) -> Problem:
    """A `partitioning` problem of `view` at `at`."""
    return Problem(
        code=ProblemCode.PARTITIONING,
        view=view.name,
        path=view.path,
        line=at.line,
        col=at.col,
        message=message,
        hint=hint,
    )


def key_kind(t: pa.DataType) -> str | None:
    """The kind of partition value a column of type `t` holds (None: cannot name partitions)."""
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "text"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_boolean(t):
        return "boolean"
    if isinstance(t, pa.DictionaryType):
        return key_kind(t.value_type)
    return None


def check_partitioning(
    views: Mapping[str, ViewDef],
    proven: Mapping[str, Partitioning],
    reads: Mapping[str, tuple[str, ...]],
    schemas: Mapping[str, pa.Schema | None],
) -> tuple[dict[str, Partitioning], list[Problem]]:
    """Pass: the partitioning of every declared view whose shape analysis proved it, checked
    against the plan (see the module docstring). Returns the partitionings that hold and the
    problems of the views whose declaration does not."""
    found: dict[str, Partitioning] = {}
    problems: list[Problem] = []
    inline = {n: p for n, p in proven.items() if not views[n].persisted}
    for name in sorted(proven):
        view, partitioning = views[name], proven[name]
        spec = view.incremental
        at = Position(spec.line, spec.col) if spec is not None and spec.line else Position(1, 1)
        mistakes = _type_problems(name, partitioning, schemas)
        if view.persisted and not mistakes:
            partitioning, mistakes = _expand(views, inline, reads, name, partitioning)
            mistakes += _dependency_problems(views, partitioning)
        problems += [partition_problem(view, at, message, hint) for message, hint in mistakes]
        if view.persisted and not mistakes:
            found[name] = partitioning
    return found, problems


Mistakes = list[tuple[str, str | None]]


def _expand(
    views: Mapping[str, ViewDef],
    inline: Mapping[str, Partitioning],
    reads: Mapping[str, tuple[str, ...]],
    name: str,
    partitioning: Partitioning,
) -> tuple[Partitioning, Mistakes]:
    """`partitioning` with every inline driver replaced by that view's own drivers (the
    stored tables the build filters), and the mistakes that make it unsound."""
    mistakes: Mistakes = []
    stored: set[Driver] = set()
    own = {name: partitioning}  # the view and the inline views on its driver chains
    stack = list(partitioning.drivers)
    while stack:
        driver = stack.pop()
        upstream = views.get(driver.table)
        if upstream is None or upstream.persisted:
            stored.add(driver)
            continue
        declared = inline.get(driver.table)
        if declared is None or declared.column != driver.column:
            mistakes.append(
                (
                    f"driver {driver.table!r} is an inline view not partitioned by "
                    f"{driver.column!r}: only stored tables and inline views declared "
                    "partitioned alike can drive partitions",
                    f"declare `@incremental: partition_by = {driver.column}` on "
                    f"{driver.table}, or make it a stored view",
                )
            )
        elif not declared.drivers:
            mistakes.append(
                (
                    f"driver {driver.table!r} is an inline view with `drivers = none`: its "
                    "rows are computed whole, so only a stored one can drive partitions",
                    f"make {driver.table} a stored view",
                )
            )
        elif driver.table not in own:
            own[driver.table] = declared
            stack.extend(declared.drivers)
    if len({d.table for d in stored}) != len(stored):
        mistakes.append(("a driver is partitioned by two columns through inline views", None))
    if mistakes:
        return partitioning, mistakes
    filtered = {d.table for d in stored} | set(own)
    mistakes += _whole_reads(views, reads, name, own, filtered)
    expanded = msgspec.structs.replace(partitioning, drivers=tuple(sorted(stored)))
    return expanded, mistakes


def _whole_reads(
    views: Mapping[str, ViewDef],
    reads: Mapping[str, tuple[str, ...]],
    name: str,
    own: Mapping[str, Partitioning],
    filtered: set[str],
) -> Mistakes:
    """A filtered table (a driver, or an inline view over one) read whole by the view or by an
    inline view folded into it: that reader would see only the recomputed partitions."""
    mistakes: Mistakes = []
    folded, stack = {name}, [name]
    while stack:
        reader = stack.pop()
        drives = {d.table for d in own[reader].drivers} if reader in own else set()
        for table in reads.get(reader, ()):
            upstream = views.get(table)
            if upstream is not None and not upstream.persisted and table not in folded:
                folded.add(table)
                stack.append(table)
            if table in filtered and table not in drives:
                where = (
                    "this view"
                    if reader == name
                    else f"the inline view {reader!r} folded into this view"
                )
                mistakes.append(
                    (
                        f"{where} reads the driver {table!r}: it would see only the "
                        "recomputed partitions",
                        f"make {reader} a stored view" if reader != name else None,
                    )
                )
    return mistakes


def _dependency_problems(views: Mapping[str, ViewDef], partitioning: Partitioning) -> Mistakes:
    dependencies = partitioning.dependencies
    upstream = views.get(dependencies.table) if dependencies is not None else None
    if dependencies is not None and upstream is not None and not upstream.persisted:
        return [
            (
                f"dependencies table {dependencies.table!r} is an inline view: the build "
                "reads the dependencies from a stored table",
                f"make {dependencies.table} a stored view",
            )
        ]
    return []


def _type_problems(
    name: str, partitioning: Partitioning, schemas: Mapping[str, pa.Schema | None]
) -> list[tuple[str, str | None]]:
    hint = "partition columns are text, integer, date or boolean"
    columns = [(name, partitioning.column)] + [(d.table, d.column) for d in partitioning.drivers]
    if (dependencies := partitioning.dependencies) is not None:
        columns += [
            (dependencies.table, partitioning.column),
            (dependencies.table, dependencies.column),
        ]
    kinds: dict[str, str | None] = {}
    for table, column in columns:
        schema = schemas.get(table)
        if schema is not None and column in schema.names:
            kinds[f"{table}.{column}"] = key_kind(schema.field(column).type)
    mistakes: list[tuple[str, str | None]] = [
        (f"{where} cannot name partitions (its type has no exact equality to filter by)", hint)
        for where, kind in kinds.items()
        if kind is None
    ]
    if not mistakes and len(set(kinds.values())) > 1:
        listed = ", ".join(f"{w} is {k}" for w, k in kinds.items())
        mistakes.append((f"the partition columns have different kinds: {listed}", None))
    return mistakes
