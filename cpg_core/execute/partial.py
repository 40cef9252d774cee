"""A partition-incremental view's node: recompute some partitions, keep the others.

Runs where the node runs (a thread, a spawned process, a Dask or Ray worker): everything it
needs is in its `ViewTask` (`partition_by`, and `partial` when only some partitions are
recomputed) and its input tables. A full run hashes the output by partition. A partial run
filters each driver to the partitions to recompute, runs the view's SQL over that, checks that
every row it produced belongs to one of those partitions (the compiler proved it must: a row
elsewhere means the proof does not hold for this query, and the build fails naming the view
rather than store a wrong table), and returns the stored rows of the other partitions plus the
new ones — the whole table, as a full run would, with the partition map and data version a
full run would compute.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pyarrow as pa

from cpg_core.execute.errors import ViewExecutionError
from cpg_core.execute.slices import drivers_in, run_in_slices, slice_keys
from cpg_core.execute.sources import InputTable
from cpg_core.execute.task_spec import ViewTask
from cpg_core.execute.versions import remember, remember_partitions, remember_replaced
from cpg_core.store.partitions import Replaced, partition


class PartitionClaimError(RuntimeError):
    """A partial run produced rows of partitions it was not recomputing."""


def partitioned_output(
    task: ViewTask,
    tables: Mapping[str, InputTable],
    run: Callable[[dict[str, InputTable]], pa.Table],
) -> pa.Table:
    """The view's whole output (store types), its data version and partition map remembered.

    `run` runs the view's SQL over the inputs it is given: once over the drivers filtered to
    the partitions to recompute (a partial run), once per slice of partitions (a whole run
    over big drivers, `execute.slices`), or once over everything."""
    column = task.partition_by
    assert column is not None
    partial = task.partial
    slices = slice_keys(task, tables)
    sliced = None
    if slices:
        sliced = run_in_slices(task, tables, slices, run, lambda k, p: _check_claim(task, k, p))
    if sliced is not None:
        ordered, pmap = sliced
    else:
        inputs = dict(tables) if partial is None else drivers_in(task, tables, partial.keys)
        ordered, pmap = partition(run(inputs), column)
    if partial is not None:
        _check_claim(task, partial.keys, set(pmap.hashes))
        pmap = partial.base.replaced(partial.keys, pmap)
        kept = partial.kept
        if not kept.schema.equals(ordered.schema):  # nullability or metadata from the store
            kept = kept.cast(ordered.schema)
        ordered = pa.concat_tables([kept, ordered])
    remember(ordered, pmap.version)
    if partial is not None:  # the kept rows first: its tests may check the new rows only
        remember_replaced(ordered, Replaced(partial.base.version, partial.kept.num_rows))
    return remember_partitions(ordered, pmap)


def _check_claim(task: ViewTask, keys: frozenset[str], produced: set[str]) -> None:
    stray = sorted(produced - keys)
    if stray:
        shown = ", ".join(stray[:3]) + (" ..." if len(stray) > 3 else "")
        error = PartitionClaimError(
            f"recomputing {len(keys)} partition(s) produced rows of {len(stray)} "
            f"other partition(s) of {task.partition_by} ({shown}): the view does not keep "
            "partitions apart as its @incremental declaration says"
        )
        last = task.steps[-1]
        raise ViewExecutionError(last.name, last.path, error)
