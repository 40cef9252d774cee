"""Execution modes and executor configuration: the typed public API of how a build runs.

Why typed: the system this replaces took loose dicts, so a typo ran serially without a word.
`ExecutorConfig` validates itself on construction and is hashable and msgpack/JSON-encodable.
"""

from __future__ import annotations

import enum
import os
from typing import Literal

import msgspec

ExecutorKind = Literal["threads", "processes", "ray", "dask"]


class ExecutionMode(enum.StrEnum):
    """How ready tasks are run.

    SERIAL: one at a time in plan priority order (deterministic). PARALLEL: up to `max_tasks`
    at once on a local executor (`kind` threads or processes). REMOTE: like PARALLEL, but tasks
    whose planned cost is at least `remote_threshold_s` go to `kind` (ray or dask).
    """

    SERIAL = "serial"
    PARALLEL = "parallel"
    REMOTE = "remote"


class ExecutorConfigError(ValueError):
    """The executor configuration is inconsistent (the message says which field and why)."""


class ExecutorConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What runs the tasks: mode, executor kind, concurrency, remote routing threshold.

    `target_partitions` is DataFusion's per-query parallelism; None means all cores when one
    task runs at a time and ``cores // max_tasks`` when several do (FACTS: DataFusion already
    uses every core per query, so concurrent queries must share them).

    `memory_limit_mb` caps what a run's queries may hold (DataFusion's fair spill pool, split
    evenly between the tasks that run at once): sorts, aggregates and joins spill to temporary
    files beyond it, and a query that still cannot fit fails naming its view instead of the
    process being killed. None: no limit.
    """

    mode: ExecutionMode = ExecutionMode.SERIAL
    kind: ExecutorKind = "threads"
    max_tasks: int = 2
    remote_threshold_s: float = 1.0
    target_partitions: int | None = None
    memory_limit_mb: int | None = None

    def __post_init__(self) -> None:
        if self.max_tasks < 1:
            raise ExecutorConfigError(f"max_tasks must be >= 1, not {self.max_tasks}")
        if self.remote_threshold_s < 0:
            raise ExecutorConfigError("remote_threshold_s must be >= 0")
        if self.target_partitions is not None and self.target_partitions < 1:
            raise ExecutorConfigError("target_partitions must be >= 1")
        if self.memory_limit_mb is not None and self.memory_limit_mb < 1:
            raise ExecutorConfigError(f"memory_limit_mb must be >= 1, not {self.memory_limit_mb}")
        if self.mode is ExecutionMode.PARALLEL and self.kind not in ("threads", "processes"):
            raise ExecutorConfigError(
                f"parallel mode runs on local threads or processes, not {self.kind!r} "
                "(use mode='remote' for ray/dask)"
            )
        if self.mode is ExecutionMode.REMOTE and self.kind not in ("ray", "dask", "processes"):
            raise ExecutorConfigError(
                f"remote mode needs kind 'ray', 'dask' or 'processes', not {self.kind!r}"
            )

    @property
    def concurrency(self) -> int:
        """How many tasks may run at once."""
        return 1 if self.mode is ExecutionMode.SERIAL else self.max_tasks

    def task_memory_bytes(self) -> int | None:
        """Each running task's share of the memory limit, in bytes (None: unlimited)."""
        if self.memory_limit_mb is None:
            return None
        return self.memory_limit_mb * 1024 * 1024 // self.concurrency

    def partitions(self) -> int:
        """DataFusion target partitions per query for this configuration."""
        if self.target_partitions is not None:
            return self.target_partitions
        cores = os.cpu_count() or 1
        return max(1, cores // self.concurrency)


SERIAL = ExecutorConfig()
