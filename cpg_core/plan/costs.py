"""Task costs: measured durations of the same fingerprint, else an estimate from input sizes, else 1."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import msgspec

CostSource = Literal["measured", "estimated", "default"]
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
) -> tuple[dict[str, TaskCost], dict[str, int | None]]:
    """Cost every task in topological `order`; a view's output size is estimated as its inputs'.

    Returns the costs and the estimated bytes of every view output (None when unknown).
    """
    sizes: dict[str, int | None] = dict(input_bytes)
    costs: dict[str, TaskCost] = {}
    for task in order:
        upstream = [sizes.get(name) for name in inputs.get(task, ())]
        known = (
            None
            if any(s is None for s in upstream) or not upstream
            else sum(s for s in upstream if s is not None)
        )
        sizes[task] = known
        measured = history.get(fingerprints.get(task, ""))
        if measured is not None:
            costs[task] = TaskCost(measured, "measured")
        elif known is not None:
            costs[task] = TaskCost(max(known / BYTES_PER_SECOND, 1e-6), "estimated")
        else:
            costs[task] = TaskCost(DEFAULT_COST, "default")
    return costs, sizes
