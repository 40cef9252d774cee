"""Task costs: measured durations of the same fingerprint, else an estimate from input sizes, else 1.

Inline views are not run on their own: each persisted reader runs them first, in its own node
(`plan/inline.py`). So an inline view costs nothing by itself (source `inline`) and its cost is
folded into each reader that runs it — unless the reader was measured, since its measured
duration already includes its inline steps. The critical path then runs through views that
exist as tables, with the seconds their nodes really take.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Literal

import msgspec

CostSource = Literal["measured", "estimated", "default", "inline"]
BYTES_PER_SECOND = 250e6  # a rough DataFusion scan+join throughput on one core
DEFAULT_COST = 1.0


class TaskCost(msgspec.Struct, frozen=True, array_like=True):
    """The cost used for scheduling and where it came from."""

    seconds: float
    source: CostSource


def estimate_costs(
    order: Sequence[str],
    inputs: Mapping[str, Sequence[str]],
    fingerprints: Mapping[str, str],
    input_bytes: Mapping[str, int | None],
    history: Mapping[str, float],
    inline: Collection[str] = (),
) -> tuple[dict[str, TaskCost], dict[str, int | None]]:
    """Cost every task in topological `order`; a view's output size is estimated as its inputs'.

    Tasks in `inline` cost 0 (`inline`); each other task carries the cost of the inline views
    it runs (transitively, each once) unless it was measured. Returns the costs and the
    estimated bytes of every view output (None when unknown).
    """
    sizes: dict[str, int | None] = dict(input_bytes)
    own: dict[str, TaskCost] = {}
    folds: dict[str, frozenset[str]] = {}  # task → the inline views its node runs
    costs: dict[str, TaskCost] = {}
    for task in order:
        upstream = [sizes.get(name) for name in inputs.get(task, ())]
        known = (
            None
            if any(s is None for s in upstream) or not upstream
            else sum(s for s in upstream if s is not None)
        )
        sizes[task] = known
        own[task] = _own_cost(history.get(fingerprints.get(task, "")), known)
        folded = frozenset().union(*(folds[i] for i in inputs.get(task, ()) if i in folds))
        if task in inline:
            folds[task] = folded | {task}
            costs[task] = TaskCost(0.0, "inline")
        else:
            costs[task] = _with_folded(own[task], [own[i] for i in sorted(folded)])
    return costs, sizes


def _own_cost(measured: float | None, known_bytes: int | None) -> TaskCost:
    if measured is not None:
        return TaskCost(measured, "measured")
    if known_bytes is not None:
        return TaskCost(max(known_bytes / BYTES_PER_SECOND, 1e-6), "estimated")
    return TaskCost(DEFAULT_COST, "default")


def _with_folded(cost: TaskCost, folded: Sequence[TaskCost]) -> TaskCost:
    """A reader's cost with the inline views it runs: a measurement already includes them."""
    if cost.source == "measured" or not folded:
        return cost
    seconds = cost.seconds + sum(c.seconds for c in folded)
    default = cost.source == "default" or any(c.source == "default" for c in folded)
    return TaskCost(seconds, "default" if default else "estimated")
